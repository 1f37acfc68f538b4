# What every benchmark script here starts with; source it first:
#   . "$(dirname "$0")/lib.sh"
#   usage_unless 1 "$@"
# Sets `here` (this directory) and `root` (the repository), and -u.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# usage_unless N ARGS...: with fewer than N arguments, prints the script's header comment (its
# leading # lines after the shebang) and exits 2.
usage_unless() {
  local need=$1
  shift
  [ $# -ge "$need" ] && return 0
  sed -n '2,/^[^#]/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  exit 2
}
