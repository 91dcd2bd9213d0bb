# Helpers shared by the benchmark scripts (sourced, not run).
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$1/$2" && return 0; sleep 0.1; done; echo "server on $1 did not start" >&2; return 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
cpu_ms() { awk '{print ($14+$15)*10}' "/proc/$1/stat"; }  # utime+stime in ms (100 Hz)
# A Sesame config for a benchmark: data in $1, API on port $2, plus any extra TOML in $3.
sesame_config() {
  printf 'data_dir = "%s"\nlog_level = "warn"\n[api]\nlisten = "127.0.0.1:%s"\n%s' "$1" "$2" "${3:-}"
}
