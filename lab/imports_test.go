package lab

import (
	"os/exec"
	"strings"
	"testing"
)

// The lab reaches the transport only through the driver's protocol
// package: neither it nor any package it builds on imports a transport
// implementation, so that either can change without the other.
func TestLabImportsNoTransportImplementation(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to list the lab's imports")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const transport = "github.com/runbookhq/runbook/runbook/transport"
	allowed := map[string]bool{transport + "/driverproto": true}
	var found bool
	for _, pkg := range strings.Fields(string(out)) {
		if (pkg == transport || strings.HasPrefix(pkg, transport+"/")) && !allowed[pkg] {
			t.Errorf("the lab imports %s", pkg)
		}
		found = found || allowed[pkg]
	}
	if !found {
		t.Errorf("the lab does not serve the driver protocol from package driverproto: its imports are\n%s", out)
	}
}
