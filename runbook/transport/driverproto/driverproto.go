// Package driverproto is the wire protocol of runbook's command driver: a
// small POSIX sh loop that one SSH session runs on a host, taking the
// connection's commands one after another on its standard input (the ssh
// transport's driver.go says why). A server that does not run commands in
// a POSIX shell, the lab, serves the same protocol itself; both sides take
// it from here.
//
// The protocol. The driver starts by writing its first markers, with the
// nonce given as its argument: StatusMarker(nonce, 0) on standard output
// and EndMarker(nonce) on standard error. Then each request (Request) is a
// line holding a fresh random nonce, shell code over as many lines as it
// takes, and the nonce's line again; a request whose closing nonce line
// never came (the connection dropped while it was sent) is not run, not
// even in part. The driver evaluates the code in a subshell whose standard
// input is /dev/null, waits for it, then writes StatusMarker(nonce, status)
// to its standard output and EndMarker(nonce) to its standard error. The
// code ends by replacing the subshell with the command (exec): a command
// costs the host one fork and one exec, and what the code exports appears
// in no command line. A request's nonce is 24 random hex digits, never
// seen before and in no process list, so no output can end a command
// early by chance.
//
// On a TERM signal the driver sends TERM to the running command; on USR1,
// KILL. End of input ends the driver.
package driverproto

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
)

// Script is the driver, run as `/bin/sh -c Script sh rbdriver NONCE`: its
// $0 is a shell's, as in the messages of a command's shell.
const Script = `trap 't=1; kill -TERM "$p" 2>/dev/null' TERM
trap 't=1; kill -KILL "$p" 2>/dev/null' USR1
p=
printf '\036%s 0\n' "$2"
printf '\036%s\n' "$2" >&2
while IFS= read -r n; do
s= e=
while IFS= read -r l; do
[ "$l" = "$n" ] && { e=1; break; }
s="$s$l
"
done
[ -n "$e" ] || exit 0
(eval "$s") </dev/null &
p=$!
while :; do
t=
wait "$p" 2>/dev/null
r=$?
[ -n "$t" ] && [ "$r" != 127 ] || break
done
p=
printf '\036%s %s\n' "$n" "$r"
printf '\036%s\n' "$n" >&2
done`

// MaxCode bounds the code of one request: the driver's shell reads its
// input a byte at a time. Longer commands take a session of their own.
const MaxCode = 4 << 10

// Name is the driver's first argument, which names it in process lists.
const Name = "rbdriver"

// prefix is the driver's command line up to its nonce.
var prefix = "exec /bin/sh -c " + quote(Script) + " sh " + Name + " "

// quote returns s in single quotes for a POSIX shell.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// CommandLine is the command line, for the login shell of an SSH server,
// that starts a driver whose first markers carry nonce.
func CommandLine(nonce string) string { return prefix + nonce }

// Nonce reports whether line, an exec request's command line, starts a
// driver, and the nonce of its first markers.
func Nonce(line string) (string, bool) {
	nonce, ok := strings.CutPrefix(line, prefix)
	if !ok || !validNonce(nonce) {
		return "", false
	}
	return nonce, true
}

// validNonce reports whether s is a nonce as NewNonce makes them.
func validNonce(s string) bool {
	hexPart, ok := strings.CutPrefix(s, "rbd-")
	if !ok || len(hexPart) != 24 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

// NewNonce returns a fresh random nonce.
func NewNonce() string {
	var b [12]byte
	rand.Read(b[:])
	return "rbd-" + hex.EncodeToString(b[:])
}

// Request is what the controller writes to run code under nonce.
func Request(nonce, code string) string {
	return nonce + "\n" + code + "\n" + nonce + "\n"
}

// ReadRequest reads one request from r: its nonce and its code, each of
// its lines ended by a newline. ok is false when the input ended before
// the request was whole; the partial request is then to be dropped.
func ReadRequest(r *bufio.Reader) (nonce, code string, ok bool) {
	readLine := func() (string, bool) {
		line, err := r.ReadString('\n')
		return strings.TrimSuffix(line, "\n"), err == nil
	}
	nonce, ok = readLine()
	if !ok {
		return "", "", false
	}
	var b strings.Builder
	for {
		line, ok := readLine()
		if !ok {
			return "", "", false
		}
		if line == nonce {
			return nonce, b.String(), true
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
}

// MarkerPrefix begins both markers of nonce. Its first byte, 0x1e
// (ASCII's record separator), is one text never holds.
func MarkerPrefix(nonce string) string { return "\x1e" + nonce }

// StatusMarker ends a request's standard output, with its exit status.
func StatusMarker(nonce string, status int) string {
	return MarkerPrefix(nonce) + " " + strconv.Itoa(status) + "\n"
}

// EndMarker ends a request's standard error.
func EndMarker(nonce string) string { return MarkerPrefix(nonce) + "\n" }
