# shellcheck shell=bash
# Shared by the throwaway local servers of the tests and the demo:
# hack/start-{clickhouse,redis,s3,eraser} and their hack/stop-* scripts.
# A script sets `script` (its name, for messages) and sources this file.
#
# Conventions (as in hack/start-postgres): a state directory per server
# from an environment variable, default under ${TMPDIR:-/tmp}, mode 700,
# with a marker file so that stop only ever removes what start created;
# loopback only; the first free port from a base upward; secrets made once
# per state directory into files of mode 600 and never written to stderr.

# shellcheck disable=SC2154 # `script` is set by the script that sources this file
log() { printf '%s: %s\n' "$script" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# set_state_dir VAR DEFAULT: sets state_dir to ${VAR:-DEFAULT}, absolute and
# without trailing slashes; refuses /.
set_state_dir() {
  local var="$1" dir
  dir="${!var:-$2}"
  case "$dir" in
    /*) ;;
    *) dir="$PWD/$dir" ;;
  esac
  while [[ "$dir" == */ ]]; do
    dir="${dir%/}"
  done
  [[ -n "$dir" ]] || die "refusing to use / as the state directory ($var)"
  state_dir="$dir"
  state_var="$var"
}

# prepare_state_dir MARKER: creates (or adopts, when it holds MARKER or is
# empty) the state directory with mode 700, and takes its lock on fd 9 so
# that concurrent starts on the same directory run one after the other.
prepare_state_dir() {
  local marker="$state_dir/$1"
  if [[ -e "$state_dir" && ! -d "$state_dir" ]]; then
    die "$state_dir exists and is not a directory"
  fi
  if [[ -d "$state_dir" && ! -e "$marker" ]] && [[ -n "$(ls -A "$state_dir")" ]]; then
    die "$state_dir exists, is not empty and was not created by hack/$script; choose another $state_var"
  fi
  (umask 077 && mkdir -p "$state_dir") || die "cannot create $state_dir"
  if [[ ! -w "$state_dir" ]]; then
    die "$state_dir is not writable by $(id -un); remove it or choose another $state_var"
  fi
  touch "$marker" || die "cannot write $marker"
  chmod 700 "$state_dir" || die "cannot chmod $state_dir"
  if command -v flock >/dev/null 2>&1; then
    exec 9>>"$state_dir/.lock" || die "cannot open $state_dir/.lock"
    flock -w 120 9 || die "timed out waiting for another hack/$script on $state_dir"
  fi
}

# check_removable MARKER: for the stop scripts. Exits 0 when there is no
# state directory; dies when it exists but was not made by the start script.
check_removable() {
  if [[ ! -e "$state_dir" ]]; then
    log "nothing to stop: $state_dir does not exist"
    exit 0
  fi
  [[ -d "$state_dir" ]] || die "$state_dir is not a directory"
  if [[ ! -e "$state_dir/$1" && -n "$(ls -A "$state_dir")" ]]; then
    die "$state_dir was not created by hack/${script/stop-/start-}; refusing to remove it"
  fi
}

# random_chars COUNT ALPHABET: COUNT characters drawn from ALPHABET.
random_chars() {
  local count="$1" alphabet="$2" out="" byte
  for byte in $(od -An -v -tu1 -N"$count" /dev/urandom); do
    out+="${alphabet:byte % ${#alphabet}:1}"
  done
  ((${#out} == count)) || return 1
  printf '%s' "$out"
}

# load_secret FILE PATTERN GENERATOR [ARGS...]: sets `secret` to the content
# of FILE, made once with GENERATOR (mode 600) and checked against PATTERN.
load_secret() {
  local file="$1" pattern="$2" value
  shift 2
  if [[ ! -s "$file" ]]; then
    value="$("$@")" || die "could not generate $file"
    (umask 077 && printf '%s\n' "$value" >"$file") || die "cannot write $file"
  fi
  chmod 600 "$file" || die "cannot chmod $file"
  secret="$(<"$file")"
  [[ "$secret" =~ $pattern ]] || die "$file holds an unexpected value; remove it"
}

# write_private FILE: stdin to FILE, mode 600 (for files holding a secret).
write_private() {
  (umask 077 && cat >"$1") || die "cannot write $1"
  chmod 600 "$1" || die "cannot chmod $1"
}

port_in_use() {
  # A successful TCP connect means something is listening.
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# pick_port BASE [FROM]: the first port from FROM (default BASE) upward,
# below BASE+500, that nothing listens on.
pick_port() {
  local base="$1" p
  for ((p = ${2:-$1}; p < base + 500 && p < 65536; p++)); do
    if ! port_in_use "$p"; then
      echo "$p"
      return
    fi
  done
  die "no free TCP port on 127.0.0.1 from ${2:-$1} to $((base + 499))"
}

# read_pid FILE: prints the pid in FILE, if it holds one.
read_pid() {
  local pid
  [[ -s "$1" ]] || return 1
  pid="$(tr -d ' \n' 2>/dev/null <"$1")" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  printf '%s' "$pid"
}

# pid_matches PID NEEDLE...: the process exists (not a zombie) and its
# command line contains every NEEDLE; guards against a recycled pid.
pid_matches() {
  local pid="$1" cmdline needle
  shift
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  cmdline="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" || return 1
  [[ -n "$cmdline" ]] || return 1
  for needle in "$@"; do
    [[ "$cmdline" == *"$needle"* ]] || return 1
  done
}

# pid_alive PID: the process has not exited. A process whose main thread
# has exited while others still run has an empty command line and is a
# zombie, but still holds its ports and files: it counts as alive until its
# last thread is gone.
pid_alive() {
  local pid="$1" state tasks
  kill -0 "$pid" 2>/dev/null || return 1
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' 2>/dev/null <"/proc/$pid/status")" || return 1
  if [[ "$state" == Z ]]; then
    tasks=("/proc/$pid/task/"*)
    ((${#tasks[@]} > 1)) || return 1
  fi
  return 0
}

# stop_pid PID WHAT TIMEOUT NEEDLE...: SIGTERM, then SIGKILL after TIMEOUT
# seconds; returns once the process has exited. Does nothing when PID is
# not a process whose command line holds every NEEDLE.
stop_pid() {
  local pid="$1" what="$2" timeout="$3" deadline
  shift 3
  pid_matches "$pid" "$@" || return 0
  log "stopping $what (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + timeout))
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log "$what (pid $pid) still running ${timeout}s after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
      while pid_alive "$pid"; do
        ((SECONDS < deadline)) || die "could not kill $what (pid $pid)"
        sleep 0.1
      done
      break
    fi
    sleep 0.1
  done
  # Give init a moment to reap it, so that no <defunct> entry is left behind.
  deadline=$((SECONDS + 3))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.1
  done
}

# show_log FILE: the last lines of a server's log, for a failure message.
show_log() {
  if [[ -s "$1" ]]; then
    log "last lines of $1:"
    tail -n 30 "$1" >&2 || true
  else
    log "$1 is empty or missing"
  fi
}
