#!/usr/bin/env bash
# Extract message ids (English) from the Python code and the templates, and merge them into the
# catalogs under frontend_templates/translations/<locale>/LC_MESSAGES/messages.po.
#
#   bash scripts/i18n.sh          extract + update (init a catalog that does not exist yet)
#   bash scripts/i18n.sh --check  fail when a zh_CN message is untranslated or fuzzy
#
# The app compiles the .po files in memory at start-up (backend/core/i18n.py): no .mo files.
# `en` keeps empty msgstr: gettext falls back to the English msgid.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
pybabel="${PYBABEL:-$root/.venv/bin/pybabel}"
[ -x "$pybabel" ] || pybabel="pybabel"
out="frontend_templates/translations"
pot="$(mktemp --suffix=.pot)"
trap 'rm -f "$pot"' EXIT

if [ "${1:-}" = "--check" ]; then
  "$root/.venv/bin/python" - "$out/zh_CN/LC_MESSAGES/messages.po" <<'PY'
import sys
from babel.messages.pofile import read_po
with open(sys.argv[1], "rb") as fh:
    cat = read_po(fh)
bad = [m.id for m in cat if m.id and (not m.string or m.fuzzy or (isinstance(m.string, tuple) and not all(m.string)))]
for msgid in bad:
    print("untranslated:", msgid)
sys.exit(1 if bad else 0)
PY
  exit $?
fi

dirs=(backend frontend_templates)
for d in matching jobs; do [ -d "$d" ] && dirs+=("$d"); done

"$pybabel" extract -F babel.cfg -k N_ -k _ -k gettext -k ngettext:1,2 \
  --project=Tongxin --copyright-holder="Tongxin" --msgid-bugs-address="" \
  --sort-by-file --width=100 -o "$pot" "${dirs[@]}"

for locale in zh_CN en; do
  po="$out/$locale/LC_MESSAGES/messages.po"
  if [ -f "$po" ]; then
    "$pybabel" update -i "$pot" -d "$out" -l "$locale" --width=100 --ignore-obsolete --no-fuzzy-matching
  else
    "$pybabel" init -i "$pot" -d "$out" -l "$locale" --width=100
  fi
done
echo "catalogs updated under $out"
