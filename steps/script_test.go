package steps

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestInterpreter(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []string
	}{
		{"echo hi\n", []string{"/bin/sh"}},
		{"#!/bin/bash\necho", []string{"/bin/bash"}},
		{"#! /bin/sh -eu\r\n", []string{"/bin/sh", "-eu"}},
		{"#!/usr/bin/env python3\n", []string{"/usr/bin/env", "python3"}},
		{"#!/usr/bin/env\tpython3 -u\n", []string{"/usr/bin/env", "python3 -u"}},
		{"#!\n", []string{"/bin/sh"}},
		{"", []string{"/bin/sh"}},
	} {
		if got := interpreter([]byte(tc.body)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestScript(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			x := newExec(t, tg.tr, tg.become)
			x.Host = fmt.Sprintf("script-test-%d", time.Now().UnixNano()) // names its staging dirs
			os.WriteFile(filepath.Join(x.BaseDir, "check.sh"), []byte("#!/bin/sh -e\necho \"dir=$(dirname \"$0\")\"\nprintf 'arg=%s\\n' \"$@\"\nexit ${RC:-0}\n"), 0o600)
			r := run(t, mustKind(t, `script: {src: check.sh, args: ["a b", "$HOME"]}`), x)
			wantStatus(t, r, Changed)
			out := x.Stdout.(*lockedBuffer).String()
			if !strings.Contains(out, "arg=a b\narg=$HOME\n") {
				t.Errorf("output %q", out)
			}
			dir := keyValues(out)["dir"]
			if !strings.Contains(dir, "runbook-"+x.Host+".") {
				t.Errorf("staging dir %q does not carry the host name", dir)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("staging dir %s left behind: %v", dir, err)
			}
			if !strings.HasPrefix(r.Command, "/bin/sh -e ") {
				t.Errorf("command %q", r.Command)
			}

			x.Env = map[string]string{"RC": "3"}
			r = run(t, mustKind(t, `script: check.sh`), x)
			wantErr(t, r, "exit status 3")
			if *r.RC != 3 {
				t.Errorf("rc %d", *r.RC)
			}
			if left, _ := filepath.Glob(os.TempDir() + "/runbook-" + x.Host + ".*"); len(left) > 0 {
				t.Errorf("staging dirs left after a failure: %v", left)
			}
			wantErr(t, run(t, mustKind(t, `script: nope.sh`), x), "nope.sh")
		})
	}
}
