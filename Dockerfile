# The production image: one image for the web app (`tongxin run`) and the workers (`tongxin worker`).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# WeasyPrint's libraries and a CJK font for the PDFs (幸福清单, certificates, receipts).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
    fonts-noto-cjk curl \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 tongxin
WORKDIR /app
# Exactly the locked runtime packages (hash-checked); no dev tools, no embedded servers.
COPY requirements/main.txt ./requirements/main.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/main.txt
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY matching ./matching
COPY jobs ./jobs
COPY frontend_templates ./frontend_templates
RUN pip install --no-cache-dir --no-deps . && pip check
USER tongxin
ENV TONGXIN_HOST=0.0.0.0 TONGXIN_PORT=8000 TONGXIN_VAR_DIR=/var/lib/tongxin \
    TONGXIN_LOAD_DEMO_DATA=false
EXPOSE 8000
CMD ["tongxin", "run"]
