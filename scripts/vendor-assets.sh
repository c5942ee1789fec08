#!/usr/bin/env bash
# Vendor the front-end libraries from the npm registry into frontend_templates/static/vendor/.
#
# The files are committed: they are part of the app, small, and must not depend on a CDN at run
# time. Versions are pinned here. To refresh: check the latest with
#   npm view htmx.org version        (stay on 2.0.x until the templates are checked against 4.x)
#   npm view @picocss/pico version
#   npm view swagger-ui-dist version  (the OpenAPI UI at /schema/swagger, served by the app)
#   npm view echarts version          (the coordinator dashboard's charts, docs/dashboard.md)
#   npm view axe-core version         (accessibility rules: injected only by
#                                      tests/web/test_page_quality.py, never linked from a page)
# change the pins below, run `bash scripts/vendor-assets.sh`, look at the pages, commit.
set -euo pipefail

HTMX_VERSION="2.0.11"
PICO_VERSION="2.1.1"
SWAGGER_UI_VERSION="5.35.0"
ECHARTS_VERSION="6.1.0"
AXE_CORE_VERSION="4.14.1"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/frontend_templates/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
  --prefix "$work" "htmx.org@$HTMX_VERSION" "@picocss/pico@$PICO_VERSION" \
  "swagger-ui-dist@$SWAGGER_UI_VERSION" "echarts@$ECHARTS_VERSION" "axe-core@$AXE_CORE_VERSION"

mods="$work/node_modules"
rm -rf "$dest"
mkdir -p "$dest/htmx" "$dest/pico" "$dest/swagger-ui" "$dest/echarts" "$dest/axe-core"
cp "$mods/htmx.org/dist/htmx.min.js" "$dest/htmx/htmx.min.js"
cp "$mods/htmx.org/LICENSE" "$dest/htmx/LICENSE"
cp "$mods/@picocss/pico/css/pico.min.css" "$dest/pico/pico.min.css"
cp "$mods/@picocss/pico/LICENSE.md" "$dest/pico/LICENSE.md"
for f in swagger-ui-bundle.js swagger-ui-standalone-preset.js swagger-ui.css LICENSE; do
  cp "$mods/swagger-ui-dist/$f" "$dest/swagger-ui/$f"
done
cp "$mods/echarts/dist/echarts.min.js" "$dest/echarts/echarts.min.js"
cp "$mods/echarts/LICENSE" "$dest/echarts/LICENSE"
cp "$mods/echarts/NOTICE" "$dest/echarts/NOTICE"
cp "$mods/axe-core/axe.min.js" "$dest/axe-core/axe.min.js"
cp "$mods/axe-core/LICENSE" "$dest/axe-core/LICENSE"
cat > "$dest/VERSIONS" <<TXT
htmx.org $HTMX_VERSION
@picocss/pico $PICO_VERSION
swagger-ui-dist $SWAGGER_UI_VERSION
echarts $ECHARTS_VERSION
axe-core $AXE_CORE_VERSION
TXT
echo "vendored htmx.org $HTMX_VERSION, @picocss/pico $PICO_VERSION, swagger-ui-dist $SWAGGER_UI_VERSION, echarts $ECHARTS_VERSION and axe-core $AXE_CORE_VERSION into ${dest#"$root"/}"
