# Sourced by scripts/demo.sh and bench/*.sh: throwaway docker-registry instances on 127.0.0.1.
#   davit_free_port                  prints a free loopback port
#   davit_start_registry DIR [PORT]  serves DIR (fresh storage) on PORT (default: a free one), waits until /v2/
#                                    answers; sets REGISTRY_PORT and REGISTRY_PID; logs go to DIR.log
#   davit_stop_registries            kills every registry started here (call it from an EXIT trap)
DAVIT_REGISTRY_PIDS=()
davit_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
davit_start_registry() {
  local dir="$1" port="${2:-$(davit_free_port)}"
  rm -rf "$dir"
  cat > "$dir.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $dir}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$port}
YML
  docker-registry serve "$dir.yml" >"$dir.log" 2>&1 &
  REGISTRY_PID=$!
  REGISTRY_PORT=$port
  DAVIT_REGISTRY_PIDS+=("$REGISTRY_PID")
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && return 0; sleep 0.1; done
  echo "registry on 127.0.0.1:$port did not start; see $dir.log" >&2
  return 1
}
davit_stop_registries() {
  local p
  for p in "${DAVIT_REGISTRY_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  DAVIT_REGISTRY_PIDS=()
}
