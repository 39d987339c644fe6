package inventory

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadVarFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"inventory.yaml": `
			all:
			  vars: {a: inline-all, only_inline_all: 1}
			  children:
			    kube_nodes:
			      children:
			        control_plane:
			          hosts: {cp-1: }
			        workers:
			          vars: {a: inline-workers}
			          hosts:
			            worker-1: {c: inline-host, d: inline-host}
			            worker-2:
		`,
		"group_vars/all.yml": `
			a: file-all
			b: file-all
			ansible_user: ubuntu
		`,
		"group_vars/workers.yaml":                   "b: file-workers\nc: file-workers\n",
		"group_vars/control_plane.json":             `{"ansible_port": 2201, "b": "json"}`,
		"group_vars/kube_nodes/10-a.yml":            "f: a\n",
		"group_vars/kube_nodes/20-b.yml":            "f: b\n",
		"group_vars/kube_nodes/sub/30-c.yaml":       "g: nested\n",
		"group_vars/kube_nodes/.hidden.yml":         "f: hidden\n",
		"group_vars/kube_nodes/README.md":           "f: readme\n",
		"group_vars/workres.yml":                    "x: 1\n",
		"host_vars/worker-1/extra.json":             `{"d": "dir", "e": "dir"}`,
		"host_vars/worker-1.yml":                    "e: yml\n",
		"host_vars/ghost.yml":                       "x: 1\n",
		"host_vars/worker-2":                        "ansible_host: 192.0.2.2\n",
		"../elsewhere/group_vars/workers.yml":       "never: read\n",
		"group_vars/kube_nodes/empty.yml":           "# nothing\n",
		"group_vars/kube_nodes/sub/.git/config.yml": "f: git\n",
	})
	inv, err := Load(filepath.Join(dir, "inventory.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w1 := inv.Host("worker-1")
	checkEqual(t, "worker-1 vars", w1.Vars, map[string]any{
		"a":               "file-all",     // a group_vars file beats inline group vars, as in Ansible
		"only_inline_all": 1,              //
		"b":               "file-workers", // child group's file beats all's file
		"c":               "inline-host",  // host vars beat group vars
		"d":               "dir",          // host_vars/ beats inline host vars
		"e":               "yml",          // NAME.yml is read after the NAME/ directory
		"f":               "b",            // files of a directory in lexical order
		"g":               "nested",
		"user":            "ubuntu",
	})
	checkEqual(t, "worker-1 user", w1.User, "ubuntu")
	checkEqual(t, "worker-2 address", inv.Host("worker-2").Address, "192.0.2.2")
	cp := inv.Host("cp-1")
	checkEqual(t, "cp-1 port and b", []any{cp.Port, cp.Vars["b"]}, []any{2201, "json"})
	checkEqual(t, "group vars of workers", inv.Groups["workers"].Vars, map[string]any{"a": "inline-workers", "b": "file-workers", "c": "file-workers"})
	checkEqual(t, "warnings", warnings(inv), []string{
		filepath.Join(dir, "group_vars", "workres.yml") + `: warning: no group named "workres" in the inventory; this file is not used (did you mean "workers"?)`,
		filepath.Join(dir, "host_vars", "ghost.yml") + `: warning: no host named "ghost" in the inventory; this file is not used`,
	})
}

func TestLoadINIWithVarFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"hosts": `
			[workers]
			worker-[1:2]
			[workers:vars]
			transport=ssh
		`,
		"group_vars/workers.yml": "transport: rehearsal\n",
		"host_vars/worker-2.yml": "transport: local\n",
	})
	inv, err := Load(filepath.Join(dir, "hosts"))
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "transports", []string{inv.Hosts[0].Transport, inv.Hosts[1].Transport}, []string{"rehearsal", "local"})
}

func TestLoadVarFileErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"inv.yaml": `
			all:
			  children:
			    workers:
			      hosts: {w1: {port: x}}
		`,
		"group_vars/all.yml":       "port: nope\ntransport: sssh\n",
		"group_vars/workers.yml":   "- a list\n",
		"group_vars/workers/a.yml": "$ANSIBLE_VAULT;1.1;AES256\n6162\n",
		"host_vars/w1.yml":         "a: [\n",
	})
	_, err := withRehearsal.Load(filepath.Join(dir, "inv.yaml"))
	gv, hv := filepath.Join(dir, "group_vars"), filepath.Join(dir, "host_vars")
	checkEqual(t, "errors", errLines(err), []string{
		gv + `/all.yml:1:7: port must be a port number from 1 to 65535, not "nope"`,
		gv + `/all.yml:2:12: transport "sssh" is not one of ssh, local, rehearsal (did you mean "ssh"?)`,
		gv + `/workers.yml:1:1: a vars file must be a mapping of variables, not a list`,
		gv + `/workers/a.yml:1:1: Ansible Vault files are not supported; keep secrets out of inventory vars`,
		hv + `/w1.yml:1: did not find expected node content`,
		filepath.Join(dir, "inv.yaml") + `:4:26: port must be a port number from 1 to 65535, not "x"`,
	})
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want a not-exist error", err)
	}
}

func TestVarFilesNotLookedUpOutsideTheDirectory(t *testing.T) {
	dir := t.TempDir()
	inner := filepath.Join(dir, "inv")
	writeFiles(t, dir, map[string]string{
		"inv/inv.yaml": `
			"..":
			  hosts: {h: }
			".hidden":
			  hosts: {h: }
		`,
		"inv/group_vars/...yml":      "x: dot\n",
		"group_vars.yml":             "x: outside\n",
		"inv/group_vars/.hidden.yml": "x: hidden\n",
	})
	inv, err := Load(filepath.Join(inner, "inv.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := inv.Host("h").Vars["x"]; ok {
		t.Errorf("a vars file was read for a group named %q or %q: %v", "..", ".hidden", inv.Host("h").Vars)
	}
	if _, err := os.Stat(filepath.Join(inner, "group_vars", "...yml")); err != nil {
		t.Fatal(err)
	}
}
