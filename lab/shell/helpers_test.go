package shell

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// testNode is a node root inside a temporary directory that also holds
// controller files (canaries) which no command may read or change.
type testNode struct {
	t        *testing.T
	dir      string // the controller directory around the root
	rootDir  string
	m        *Machine
	canaries map[string]string
}

const canarySecret = "CONTROLLER-SECRET-7f3a"

// baseFiles is a tiny Ubuntu-like tree.
var baseFiles = map[string]string{
	"/etc/hostname":   "node-1\n",
	"/etc/passwd":     "root:x:0:0:root:/root:/bin/bash\nubuntu:x:1000:1000:Ubuntu:/home/ubuntu:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
	"/etc/group":      "root:x:0:\nubuntu:x:1000:\nnogroup:x:65534:\n",
	"/etc/os-release": "NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\nID=ubuntu\n",
	"/root/.keep":     "",
	"/tmp/.keep":      "",
}

func newTestNode(t *testing.T, files map[string]string) *testNode {
	t.Helper()
	dir := t.TempDir()
	n := &testNode{t: t, dir: dir, rootDir: filepath.Join(dir, "root")}
	// Controller files around the node root, named like node files.
	n.canaries = map[string]string{
		filepath.Join(dir, "secret.txt"):                            canarySecret + "\n",
		filepath.Join(dir, "etc", "passwd"):                         "controller:x:0:0:" + canarySecret + ":/:/bin/sh\n",
		filepath.Join(dir, "etc", "hostname"):                       canarySecret + "\n",
		filepath.Join(dir, "tmp", "x"):                              canarySecret + "\n",
		filepath.Join(dir, "tmp", "sh-interp"):                      canarySecret + "\n",
		filepath.Join(dir, "..", filepath.Base(dir)+"-sibling.txt"): canarySecret + "\n",
	}
	for p, c := range n.canaries {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for p := range n.canaries {
			os.Remove(p)
		}
	})
	if err := os.MkdirAll(n.rootDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for p, c := range baseFiles {
		n.write(p, c)
	}
	for p, c := range files {
		n.write(p, c)
	}
	root, err := os.OpenRoot(n.rootDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	n.m = &Machine{Name: "node-1", Root: root, Env: map[string]string{"LANG": "C.UTF-8"}}
	return n
}

// write creates a node file (a trailing "/" makes a directory).
func (n *testNode) write(p, content string) {
	n.t.Helper()
	full := filepath.Join(n.rootDir, filepath.FromSlash(p))
	if strings.HasSuffix(p, "/") {
		if err := os.MkdirAll(full, 0o755); err != nil {
			n.t.Fatal(err)
		}
		return
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		n.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		n.t.Fatal(err)
	}
}

// read returns a node file's content ("" and false when absent).
func (n *testNode) read(p string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(n.rootDir, filepath.FromSlash(p)))
	return string(data), err == nil
}

type result struct {
	out, err string
	code     int
}

func (n *testNode) run(script, stdin string) result {
	n.t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := Run(ctx, n.m, script, strings.NewReader(stdin), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// checkCanaries fails the test if a controller file was changed or a new
// one appeared next to the node root.
func (n *testNode) checkCanaries() {
	n.t.Helper()
	for p, want := range n.canaries {
		got, err := os.ReadFile(p)
		if err != nil || string(got) != want {
			n.t.Errorf("controller file %s changed: %q, %v", p, got, err)
		}
	}
	var found []string
	filepath.Walk(n.dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if p == n.rootDir {
			return filepath.SkipDir
		}
		if !info.IsDir() {
			found = append(found, p)
		}
		return nil
	})
	sort.Strings(found)
	want := 0
	for p := range n.canaries {
		if strings.HasPrefix(p, n.dir+string(filepath.Separator)) {
			want++
		}
	}
	if len(found) != want {
		n.t.Errorf("files appeared outside the node root: %v", found)
	}
}

// tcase is one table case: files, a script, what it must print and return.
type tcase struct {
	name   string
	files  map[string]string
	script string
	stdin  string
	out    string
	code   int
	errHas string                          // a substring stderr must hold; "" means stderr must be empty
	anyErr bool                            // do not check stderr
	check  func(t *testing.T, n *testNode) // extra checks
}

func runTable(t *testing.T, cases []tcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNode(t, tc.files)
			r := n.run(tc.script, tc.stdin)
			if r.out != tc.out || r.code != tc.code {
				t.Errorf("%s\n got: exit %d, stdout %q\nwant: exit %d, stdout %q\nstderr: %q", tc.script, r.code, r.out, tc.code, tc.out, r.err)
			}
			switch {
			case tc.anyErr:
			case tc.errHas == "" && r.err != "":
				t.Errorf("unexpected stderr %q", r.err)
			case tc.errHas != "" && !strings.Contains(r.err, tc.errHas):
				t.Errorf("stderr %q does not hold %q", r.err, tc.errHas)
			}
			if tc.check != nil {
				tc.check(t, n)
			}
			n.checkCanaries()
		})
	}
}
