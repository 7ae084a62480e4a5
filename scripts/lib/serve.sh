# Sourced by the check scripts: starts a Kinora server on a free loopback
# port and stops it. kinora_start BIN DIR [SERVE ARGS...] sets KINORA_PID and
# KINORA_PORT;
# the server's data and log live in DIR. It waits for the log line that
# names the bound port with a blocking read on a fifo (bounded by read's
# timeout), not by polling; a background reader drains the rest of the log
# into DIR/server.log. kinora_stop ends the server; safe to call twice.
kinora_start() {
  local bin=$1 dir=$2 line
  shift 2
  mkfifo "$dir/log.fifo"
  "$bin" serve --port 0 --bind 127.0.0.1 --data "$dir/data" "$@" 2>"$dir/log.fifo" &
  KINORA_PID=$!
  exec 3<"$dir/log.fifo"
  KINORA_PORT=
  while IFS= read -r -t 30 line <&3; do
    printf '%s\n' "$line" >>"$dir/server.log"
    case "$line" in
      *"listening on http://"*)
        KINORA_PORT=$(printf '%s\n' "$line" | sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p')
        break ;;
    esac
  done
  cat <&3 >>"$dir/server.log" &
  exec 3<&-
  if [ -z "$KINORA_PORT" ]; then
    cat "$dir/server.log" >&2
    echo "the server did not start" >&2
    return 1
  fi
}

kinora_stop() {
  if [ -n "${KINORA_PID:-}" ]; then
    kill "$KINORA_PID" 2>/dev/null || true
    wait "$KINORA_PID" 2>/dev/null || true
    KINORA_PID=
  fi
}
