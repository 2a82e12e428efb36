# Shared by the benchmark and demo scripts (sourced, not run). Expects log() and die().

# resolve_bin: sets BIN to the osusume binary (OSUSUME_BIN, else the release build in
# .build-release, built when missing), as an absolute path.
resolve_bin() {
  BIN="${OSUSUME_BIN:-.build-release/release/osusume}"
  if [ ! -x "$BIN" ]; then
    [ -z "${OSUSUME_BIN:-}" ] || die "OSUSUME_BIN=$BIN is not an executable"
    log "building the release binary (swift build -c release --scratch-path .build-release) …"
    swift build -c release --product osusume --scratch-path .build-release >&2
  fi
  BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
}

# need_tools TOOL:PACKAGE …: installs Debian's packages for missing tools (as root), else stops
# with the exact command to run. nginx is looked for in /usr/sbin too.
need_tools() {
  local missing=() pair tool
  for pair in "$@"; do
    tool=${pair%%:*}
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} …"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/dev/null 2>&1 ||
      die "apt-get install ${missing[*]} failed"
  else
    die "missing ${missing[*]}: apt-get install -y ${missing[*]}"
  fi
}
