#!/usr/bin/env bash
# Bring your own data, end to end: the CDNOW master file (69,659 purchases of 23,570
# customers, January 1997 to June 1998; it ships inside the `lifetimes` package) as an
# orders-only dataset, checked and rendered as the 1998Q2 report.
# Walk-through: docs/byod-cdnow.md.
#
#   docs/examples/cdnow.sh [DIR]                   # DIR defaults to ./cdnow
#   ROWS=3000 docs/examples/cdnow.sh /tmp/cdnow    # only the first 3,000 purchases
#
# Settings (environment): ROWS (a slice of the file), OUT (report root, default reports),
# LANGS (default zh,en), FORMATS (default pdf,html), CHAPTERS (default all), PYTHON.
set -euo pipefail

DIR=${1:-cdnow}
PYTHON=${PYTHON:-python}

# 1. the export: lifetimes' copy of the file has a header line and space-aligned fields
mkdir -p "$DIR"
master=$("$PYTHON" -c "import lifetimes.datasets as d, pathlib; print(pathlib.Path(d.__file__).with_name('CDNOW_master.txt'))")
if [ -n "${ROWS:-}" ]; then
    head -n "$((ROWS + 1))" "$master" > "$DIR/orders.txt"
else
    cp "$master" "$DIR/orders.txt"
fi

# 2. what the file cannot say
cat > "$DIR/dataset.yaml" <<'YAML'
timezone: America/New_York
currency: USD
notes: "CDNOW master file: every purchase of the customers acquired in 1997Q1, until June 1998"
files:
  orders:
    delimiter: whitespace                          # fields separated by runs of spaces
    columns: [user_id, ordered_at, quantity, amount]  # rename the header's fields
    formats: {ordered_at: "%Y%m%d"}                # 19970101
report:
  title: "CDNOW: Growth and Retention of CD Buyers"
  subtitle: "Purchases of the 1997Q1 customers, January 1997 to June 1998"
  compare_documents: false                         # the industry documents describe live commerce
YAML

# 3. check it against the data contract
insights validate "$DIR"

# 4. the quarterly report
insights report "$DIR" --quarter 1998Q2 --lang "${LANGS:-zh,en}" --format "${FORMATS:-pdf,html}" \
    --out "${OUT:-reports}" ${CHAPTERS:+--chapters "$CHAPTERS"}
