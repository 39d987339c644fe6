package driverproto_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/transport/driverproto"
)

// The driver script, run by the local /bin/sh: it answers each complete
// request with the command's output and markers, and runs nothing of a
// request cut off before its closing nonce line, not even its complete
// lines.
func TestScriptRunsOnlyCompleteRequests(t *testing.T) {
	dir := t.TempDir()
	in := driverproto.Request("n1", "echo one\nprintf two >&2; exit 7") +
		"n2\ntouch " + filepath.Join(dir, "ran") + "\necho cut off\n"
	cmd := exec.Command("/bin/sh", "-c", driverproto.Script, "sh", driverproto.Name, "n0")
	cmd.Stdin = strings.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("driver: %v (stderr %q)", err, errb.String())
	}
	if want := driverproto.StatusMarker("n0", 0) + "one\n" + driverproto.StatusMarker("n1", 7); out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	if want := driverproto.EndMarker("n0") + "two" + driverproto.EndMarker("n1"); errb.String() != want {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the first line of a request cut off before its end ran")
	}
}

// ReadRequest, the lab's reading of the input, takes what the controller
// writes and drops a request cut off before its closing nonce line.
func TestReadRequest(t *testing.T) {
	code := "export A='x\ny'\nexec /bin/sh -c 'echo \"$A\"'"
	in := bufio.NewReader(strings.NewReader(driverproto.Request("n1", code) + driverproto.Request("n2", "") + "n3\necho cut off\n"))
	if nonce, got, ok := driverproto.ReadRequest(in); !ok || nonce != "n1" || got != code+"\n" {
		t.Errorf("first request: %q %q %v", nonce, got, ok)
	}
	if nonce, got, ok := driverproto.ReadRequest(in); !ok || nonce != "n2" || got != "\n" {
		t.Errorf("empty request: %q %q %v", nonce, got, ok)
	}
	if nonce, got, ok := driverproto.ReadRequest(in); ok {
		t.Errorf("a request cut off was read: %q %q", nonce, got)
	}
}

func TestNonce(t *testing.T) {
	nonce := driverproto.NewNonce()
	if got, ok := driverproto.Nonce(driverproto.CommandLine(nonce)); !ok || got != nonce {
		t.Errorf("Nonce(CommandLine(%q)) = %q, %v", nonce, got, ok)
	}
	if again := driverproto.NewNonce(); again == nonce {
		t.Errorf("two nonces alike: %q", nonce)
	}
	for _, line := range []string{
		"", nonce, "exec true " + nonce,
		driverproto.CommandLine("rbd-0123"),
		driverproto.CommandLine("rbd-0123456789abcdef0123456g"),
		driverproto.CommandLine(nonce + "; rm -rf /"),
	} {
		if got, ok := driverproto.Nonce(line); ok {
			t.Errorf("Nonce(%q) = %q, true", line, got)
		}
	}
	// The command line runs the driver in a POSIX shell as a login shell
	// would: its first markers carry the nonce.
	out, err := exec.Command("/bin/sh", "-c", driverproto.CommandLine(nonce)).Output()
	if err != nil || string(out) != driverproto.StatusMarker(nonce, 0) {
		t.Errorf("the command line printed %q, %v", out, err)
	}
}
