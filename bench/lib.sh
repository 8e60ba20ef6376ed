# Shell functions shared by bench/run and bench/ab; sourced, not run.
# They expect WORK (a scratch folder), NGINX (the nginx binary) and die().

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# nginx with its own prefix: conf, pid, logs and temp files under $WORK/$1.
nginx_start() {
    local name=$1 body=$2 dir=$WORK/$1
    mkdir -p "$dir/tmp" "$dir/logs"
    cat >"$dir/nginx.conf" <<EOF
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 100000000;
$body
}
EOF
    "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" ||
        die "nginx $name did not start (see $dir/logs/error.log)"
    local i
    for i in $(seq 50); do [[ -s $dir/nginx.pid ]] && return 0; sleep 0.1; done
    die "nginx $name wrote no pid file"
}

# Pids of a process and its children.
family() { local p=$1; echo "$p"; pgrep -P "$p" || true; }

# utime+stime in clock ticks, summed over the pids given.
cpu_ticks() {
    local t=0 p f
    for p in "$@"; do
        f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        f=${f##*) }
        set -- $f
        t=$((t + ${12} + ${13}))
    done
    echo "$t"
}
rss_kb() {
    local t=0 p v
    for p in "$@"; do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
# Proportional set size: shared library pages split between the processes
# mapping them, where RSS counts them once per process.
pss_kb() {
    local t=0 p v
    for p in "$@"; do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
# wrk output -> "rps p50_us p99_us requests non2xx errors"
wrk_parse() {
    awk '
    function us(v) {
        if (v ~ /us$/) return v + 0
        if (v ~ /ms$/) return v * 1000
        if (v ~ /m$/) return v * 60e6
        if (v ~ /s$/) return v * 1e6
        return v
    }
    /^ +50%/ {p50 = us($2)}
    /^ +99%/ {p99 = us($2)}
    /requests in/ {req = $1}
    /^Requests\/sec:/ {rps = $2}
    /Non-2xx or 3xx responses:/ {bad = $5}
    /Socket errors:/ {err = $4 + $6 + $8 + $10; gsub(",", "", err)}
    END {printf "%s %s %s %s %d %d\n", rps, p50, p99, req, bad, err}'
}

