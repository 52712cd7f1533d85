# tests/servers/mqtt.sh — a real mosquitto broker for kip's tests (sourced).
#
# mqtt_start DIR   starts mosquitto on 127.0.0.1 (a free port, TLS with the
#                  dev PKI in $PKI or DIR/pki, passwords required, retained
#                  messages and persistent sessions kept in DIR) and exports
#                  MQTT_PORT MQTT_CA MQTT_USER MQTT_PASSWORD_FILE
#                  MQTT_SUB_USER MQTT_SUB_PASSWORD, and two partner systems
#                  MQTT_PARTNER_USER (dp-nord) MQTT_PARTNER_PASSWORD and
#                  MQTT_OTHER_USER (dp-syd) MQTT_OTHER_PASSWORD; the ACL
#                  lets kipd read and write kip/#, observer read kip/#, and
#                  every user write only kip/deviations/<own user name>
# mqtt_stop DIR    stops it (its state stays in DIR for the next start)
# mqtt_sub DIR FILE [ID]  a subscriber to kip/# in the background, one line
#                  per message ("TOPIC PAYLOAD") appended to FILE; with ID a
#                  persistent session (QoS 1 messages wait while it is away)
# mqtt_sub_stop    stops the subscribers started by mqtt_sub
MQTT_SUB_PIDS=()

_mqtt_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

mqtt_start() {
	local dir=$1 pki=${PKI:-$1/pki}
	mkdir -p "$dir"
	[ -f "$pki/server.pem" ] || "$(dirname "${BASH_SOURCE[0]}")/../../certs/make-dev-certs.sh" "$pki" >/dev/null
	[ -n "${MQTT_PORT:-}" ] || MQTT_PORT=$(_mqtt_free_port)
	export MQTT_PORT MQTT_CA=$pki/ca.pem MQTT_USER=kipd MQTT_SUB_USER=observer
	export MQTT_PASSWORD_FILE=$dir/mqtt-password MQTT_SUB_PASSWORD=observer-secret
	export MQTT_PARTNER_USER=dp-nord MQTT_PARTNER_PASSWORD=dp-nord-secret
	export MQTT_OTHER_USER=dp-syd MQTT_OTHER_PASSWORD=dp-syd-secret
	if [ ! -f "$dir/passwd" ]; then
		head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$dir/mqtt-password"
		chmod 0600 "$dir/mqtt-password"
		: >"$dir/passwd"
		mosquitto_passwd -b "$dir/passwd" kipd "$(cat "$dir/mqtt-password")"
		mosquitto_passwd -b "$dir/passwd" observer "$MQTT_SUB_PASSWORD"
		mosquitto_passwd -b "$dir/passwd" dp-nord "$MQTT_PARTNER_PASSWORD"
		mosquitto_passwd -b "$dir/passwd" dp-syd "$MQTT_OTHER_PASSWORD"
		cp "$pki/server.pem" "$pki/server.key" "$pki/ca.pem" "$dir/"
	fi
	cat >"$dir/mosquitto.conf" <<CONF
# The test runs as root; the broker keeps root's rights to its own files.
user root
per_listener_settings false
allow_anonymous false
password_file $dir/passwd
acl_file $dir/acl
persistence true
persistence_location $dir/
autosave_interval 1
log_dest file $dir/mosquitto.log
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
max_inflight_messages 100
max_queued_messages 100000
listener $MQTT_PORT 127.0.0.1
cafile $dir/ca.pem
certfile $dir/server.pem
keyfile $dir/server.key
tls_version tlsv1.2
CONF
	cat >"$dir/acl" <<ACL
user kipd
topic readwrite kip/#
user observer
topic read kip/#
pattern write kip/deviations/%u
ACL
	mosquitto -c "$dir/mosquitto.conf" >>"$dir/mosquitto.out" 2>&1 &
	echo $! >"$dir/mosquitto.pid"
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$MQTT_PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "mosquitto did not start:" >&2
	cat "$dir/mosquitto.out" "$dir/mosquitto.log" >&2 2>/dev/null
	return 1
}

mqtt_stop() {
	local dir=$1 pid
	[ -f "$dir/mosquitto.pid" ] || return 0
	pid=$(cat "$dir/mosquitto.pid")
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	rm -f "$dir/mosquitto.pid"
}

mqtt_sub() {
	local file=$2 id=${3:-}
	local opts=(-h localhost -p "$MQTT_PORT" --cafile "$MQTT_CA" -u "$MQTT_SUB_USER"
		-P "$MQTT_SUB_PASSWORD" -t 'kip/#' -v -q 1)
	[ -n "$id" ] && opts+=(-i "$id" -c)
	mosquitto_sub "${opts[@]}" >>"$file" 2>>"$file.err" &
	MQTT_SUB_PIDS+=($!)
	sleep 0.3
}

mqtt_sub_stop() {
	local p
	for p in "${MQTT_SUB_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	MQTT_SUB_PIDS=()
}
