#!/bin/sh
# the test of calc.sh: exits 0 when 2 + 3 gives 5
got=$(sh calc.sh 2 3)
if test "$got" = 5; then
  echo "ok: 2 + 3 = 5"
else
  echo "FAIL: 2 + 3 gave $got, want 5"
  exit 1
fi
