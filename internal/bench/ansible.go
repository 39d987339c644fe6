package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/runbookhq/runbook/internal/sshdtest"
)

// ensureAnsible finds ansible-playbook, installing Debian's ansible-core
// with apt-get when it is missing and install is true. It returns the
// program, or why Ansible cannot run.
func ensureAnsible(install bool, logf func(string, ...any)) (string, string) {
	if p, err := exec.LookPath("ansible-playbook"); err == nil {
		return p, ""
	}
	if !install {
		return "", "not installed (-install=false)"
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", "not installed, and no apt-get to install ansible-core with"
	}
	aptGet := func(args ...string) error {
		logf("bench: apt-get %s", strings.Join(args, " "))
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get %s: %v: %s", strings.Join(args, " "), err, lastLines(string(out), 3))
		}
		return nil
	}
	err := aptGet("install", "-y", "--no-install-recommends", "ansible-core")
	if err != nil {
		// A fresh machine may have no package lists yet.
		if uerr := aptGet("update"); uerr == nil {
			err = aptGet("install", "-y", "--no-install-recommends", "ansible-core")
		}
	}
	if err != nil {
		logf("bench: skipping Ansible: %v", err)
		return "", "install failed: " + firstLine(err.Error())
	}
	p, err := exec.LookPath("ansible-playbook")
	if err != nil {
		return "", "ansible-core installed but ansible-playbook is not on PATH"
	}
	return p, ""
}

// ansibleTool: ansible-playbook with pipelining, no fact gathering, forks =
// hosts, a play of a task per step (`shell:` for a shell step, `command:`
// for an argv step, `become: true` for become). Its ssh connections use
// Ansible's default ControlMaster/ControlPersist; the masters are stopped
// after each run (by the measuring wrapper) so that every run starts cold.
func (b *bench) ansibleTool(dir string, w workload, hosts []*sshdtest.Host) (*tool, error) {
	t := &tool{Name: "Ansible (pipelining)", Tree: true, Slow: true}
	if b.ansible == "" {
		t.Missing = b.ansibleMissing
		return t, nil
	}
	cp := filepath.Join(dir, "ansible-cp")
	var inv strings.Builder
	inv.WriteString("[bench]\n")
	for _, h := range hosts {
		fmt.Fprintf(&inv, "%s ansible_host=%s ansible_port=%d\n", h.Name, h.Address, h.Port)
	}
	fmt.Fprintf(&inv, "\n[bench:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\nansible_python_interpreter=/usr/bin/python3\n",
		b.fleet.User, b.fleet.KeyFile)
	var play strings.Builder
	play.WriteString("- hosts: bench\n  gather_facts: false\n  tasks:\n")
	for _, st := range w.steps() {
		if st.Script != "" {
			fmt.Fprintf(&play, "    - name: %s\n      shell: %q\n", st.Name, st.Script)
		} else {
			fmt.Fprintf(&play, "    - name: %s\n      command: %q\n", st.Name, st.Program)
		}
		if st.Become {
			play.WriteString("      become: true\n")
		}
	}
	invFile, playFile, cfgFile := filepath.Join(dir, "ansible.ini"), filepath.Join(dir, "playbook.yml"), filepath.Join(dir, "ansible.cfg")
	cfg := fmt.Sprintf(`[defaults]
inventory = %s
forks = %d
host_key_checking = True
retry_files_enabled = False
interpreter_python = /usr/bin/python3
local_tmp = %s

[ssh_connection]
pipelining = True
ssh_args = -F /dev/null -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes
control_path_dir = %s
`, invFile, w.Hosts, filepath.Join(dir, "ansible-tmp"), b.fleet.KnownHosts, cp)
	if err := writeFiles(map[string]string{invFile: inv.String(), playFile: play.String(), cfgFile: cfg}); err != nil {
		return nil, err
	}
	t.Setup = func() error { return resetDir(cp) }
	t.Argv = []string{b.ansible, playFile}
	t.Env = b.env("ANSIBLE_CONFIG="+cfgFile, "ANSIBLE_NOCOLOR=1")
	return t, nil
}

// ansibleVersion is the first line of `ansible-playbook --version`.
func ansibleVersion(bin string) string {
	if bin == "" {
		return ""
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return ""
	}
	return firstLine(string(out))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
