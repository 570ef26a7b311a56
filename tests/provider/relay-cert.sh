#!/bin/sh
# relay-cert.sh DIR - a self-signed certificate for the provider doubles'
# mail relay on 127.0.0.1 (DIR/relay.pem, key DIR/relay.key): P-256, two
# days, the address in subjectAltName as RFC 6125 asks of a client that
# verifies an IP. Used by smtp_outcome_test and test_deliver.SmtpLoginTest.
set -eu
exec openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$1/relay.key" -out "$1/relay.pem" 2>/dev/null
