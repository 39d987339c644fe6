package steps

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAptCommands(t *testing.T) {
	five, ten := 5*time.Minute, 10*time.Minute
	for _, tc := range []struct {
		step string
		got  func(a *Apt) string
		want string
	}{
		{`apt: {name: cri-o, version: 1.30.4-1.1}`, func(a *Apt) string { return a.installCommand(a.targets(), five) },
			"apt-get install -y -q -o DPkg::Lock::Timeout=270 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- 'cri-o=1.30.4-1.1'"},
		{`apt: {name: cri-o, version: "1:1.29.9~rc1-1.1", allow_downgrade: true}`, func(a *Apt) string { return a.installCommand(a.targets(), five) },
			"apt-get install -y -q -o DPkg::Lock::Timeout=270 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold --allow-downgrades -- 'cri-o=1:1.29.9~rc1-1.1'"},
		{`apt: {name: [kubelet, "kubeadm=1.29.9-1.1"], only_upgrade: true, dpkg_options: "--force-confnew"}`, func(a *Apt) string { return a.installCommand(a.targets(), five) },
			"apt-get install -y -q -o DPkg::Lock::Timeout=270 -o Dpkg::Options::=--force-confnew --only-upgrade -- kubelet 'kubeadm=1.29.9-1.1'"},
		{`apt: {name: [cri-o, kubelet], state: absent}`, func(a *Apt) string { return a.removeCommand([]string{"cri-o", "kubelet"}, ten) },
			"apt-get remove -y -q -o DPkg::Lock::Timeout=570 -- cri-o kubelet"},
		{`apt: {upgrade: dist}`, func(a *Apt) string { return a.changeCommand(upgradeVerb[a.Upgrade], ten) },
			"apt-get dist-upgrade -y -q -o DPkg::Lock::Timeout=570 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"},
		{`apt: {upgrade: safe, dpkg_options: "force-confdef, force-confnew"}`, func(a *Apt) string { return a.changeCommand(upgradeVerb[a.Upgrade], ten) },
			"apt-get upgrade -y -q -o DPkg::Lock::Timeout=570 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confnew"},
	} {
		if got := tc.got(mustKind(t, tc.step).(*Apt)); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.step, got, tc.want)
		}
	}
	if got, want := aptMarkCommand("hold", []string{"cri-o", "kubelet"}), "apt-mark hold -- cri-o kubelet"; got != want {
		t.Errorf("mark: %s, want %s", got, want)
	}
	for _, tc := range []struct {
		timeout time.Duration
		want    int
	}{{0, 600}, {10 * time.Minute, 570}, {100 * time.Second, 90}, {2 * time.Second, 1}, {500 * time.Millisecond, 1}} {
		if got := lockWait(tc.timeout); got != tc.want {
			t.Errorf("lockWait(%v) = %d, want %d", tc.timeout, got, tc.want)
		}
	}
}

func TestAptValidate(t *testing.T) {
	for _, tc := range []struct{ step, err string }{
		{`apt: {}`, "needs name: (a package or a list), upgrade:, autoremove: or update_cache:"},
		{`apt: {name: Bad_Name}`, `"Bad_Name" is not a Debian package name`},
		{`apt: {name: [ok, "x=1 2"]}`, `"1 2" is not a Debian version`},
		{`apt: {name: [a, b], version: "1.0"}`, "version: goes with a single name"},
		{`apt: {name: a, state: absent, hold: true}`, "state: absent takes no version"},
		{`apt: {name: "a=1.0", state: absent}`, "state: absent takes no version"},
		{`apt: {name: a, state: latest, version: "1.0"}`, "state: latest installs the candidate version"},
		{`apt: {name: a, state: newest}`, `state "newest": use present, absent or latest`},
		{`apt: {upgrade: yes}`, `upgrade "yes": use safe, full or dist`},
		{`apt: {upgrade: dist, name: a}`, "upgrade: upgrades the whole system"},
		{`apt: {name: a, dpkg_options: "force-confold,rm -rf /"}`, `"rm -rf /" is not a dpkg option`},
		{`apt: {name: a, cache_valid_time: soon}`, `cache_valid_time "soon": give seconds (3600) or a duration like 1h`},
		{`apt: {name: {a: b}}`, "expected a package name or a list of them, got a mapping"},
	} {
		_, err := parseStep(t, tc.step)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.step, err, tc.err)
		}
	}
	for _, ok := range []string{
		`apt: {name: rbdemo}`, `apt: {name: [rbdemo, "rbprompt=1.0-1"], hold: true}`, `apt: {upgrade: full, autoremove: true}`,
		`apt: {update_cache: true}`, `apt: {cache_valid_time: 3600}`, `apt: {name: "{{ host.name }}", version: "{{ host.name }}"}`,
		`apt: {name: a, state: latest, only_upgrade: true, cache_valid_time: 1h}`, `apt: {autoremove: true}`,
	} {
		if _, err := parseStep(t, ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	a := mustKind(t, `apt: {name: a, cache_valid_time: 90}`).(*Apt)
	if time.Duration(a.CacheValidTime) != 90*time.Second {
		t.Errorf("cache_valid_time: 90 is %v", time.Duration(a.CacheValidTime))
	}
}

func TestAptDescribe(t *testing.T) {
	for _, tc := range []struct{ step, want string }{
		{`apt: {name: cri-o, version: 1.30.4-1.1, hold: true, update_cache: true}`, "apt: update cache, cri-o = 1.30.4-1.1, hold"},
		{`apt: {name: [a, b], state: latest, only_upgrade: true, cache_valid_time: 1h}`, "apt: update cache if older than 1h0m0s, a, b at the latest version, only upgrade"},
		{`apt: {name: [a, b], state: absent, autoremove: true}`, "apt: remove a, b, autoremove"},
		{`apt: {upgrade: safe, dpkg_options: force-confnew}`, "apt: upgrade (safe), dpkg force-confnew"},
	} {
		if got := mustKind(t, tc.step).(*Apt).Describe(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.step, got, tc.want)
		}
	}
}

func TestParsePkgStates(t *testing.T) {
	out := "rbdemo|install ok installed|1.0-1\nkubelet|hold ok installed|1.29.9-1.1\nold|deinstall ok config-files|0.9\n" +
		"half|install ok half-configured|2.0\ngone|hold ok not-installed|\ngarbage\n"
	want := map[string]pkgState{
		"rbdemo": {Installed: true, Version: "1.0-1"}, "kubelet": {Installed: true, Held: true, Version: "1.29.9-1.1"},
		"old": {}, "half": {}, "gone": {Held: true},
	}
	got := parsePkgStates(out)
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %+v, want %+v", k, got[k], w)
		}
	}
}

// The lines dpkg 1.21 writes (Debian 12, Ubuntu 22.04) about conffiles.
func TestParseConffiles(t *testing.T) {
	out := `Preparing to unpack .../rbdemo_2.0-1_all.deb ...
Unpacking rbdemo (2.0-1) over (1.0-1) ...
Setting up rbdemo (2.0-1) ...

Configuration file '/etc/rbdemo/rbdemo.conf'
 ==> Modified (by you or by a script) since installation.
 ==> Package distributor has shipped an updated version.
 ==> Keeping old config file as default.
Configuration file '/etc/other.conf'
 ==> Modified (by you or by a script) since installation.
 ==> Package distributor has shipped an updated version.
 ==> Using new config file as default.
Installing new version of config file /etc/default/rbdemo ...
Replacing config file /etc/third.conf with new version
`
	got := parseConffiles(out)
	want := map[string]string{"/etc/rbdemo/rbdemo.conf": "kept", "/etc/other.conf": "replaced", "/etc/default/rbdemo": "replaced", "/etc/third.conf": "replaced"}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if got := parseConffiles("Setting up rbdemo (2.0-1) ...\n"); len(got) != 0 {
		t.Errorf("no conffile news: %v", got)
	}
}

func TestParseCandidatesAndCacheAge(t *testing.T) {
	policy := "rbdemo:\n  Installed: 1.0-1\n  Candidate: 2.1-1\n  Version table:\n     2.1-1 500\nnone:\n  Installed: (none)\n  Candidate: (none)\n"
	if got := parseCandidates(policy); got["rbdemo"] != "2.1-1" || got["none"] != "(none)" {
		t.Errorf("candidates %v", got)
	}
	if age, ok := parseCacheAge("now=1000\nstamp=400\n"); !ok || age != 600*time.Second {
		t.Errorf("age %v %v", age, ok)
	}
	for _, out := range []string{"now=1000\n", "now=1000\nstamp=2000\n", "date: invalid\n"} {
		if _, ok := parseCacheAge(out); ok {
			t.Errorf("%q reads as a valid cache age", out)
		}
	}
}

func TestAptError(t *testing.T) {
	for _, tc := range []struct {
		stdout, stderr, want string
	}{
		{"Reading package lists...\n", "W: Some warning\nE: Version '1.30.9' for 'cri-o' was not found\n",
			"apt: exit 100: E: Version '1.30.9' for 'cri-o' was not found"},
		{"", "dpkg: error: something\n", "apt: exit 100: dpkg: error: something"},
		// A maintainer script that fails: its own message comes with dpkg's.
		{"Setting up rbbroken (1.0-1) ...\n",
			"rbbroken: cannot configure: /etc/rbbroken/license.key is missing\ndpkg: error processing package rbbroken (--configure):\n" +
				" installed rbbroken package post-installation script subprocess returned error exit status 1\n" +
				"Errors were encountered while processing:\n rbbroken\nE: Sub-process /usr/bin/dpkg returned an error code (1)\n",
			"apt: exit 100: E: Sub-process /usr/bin/dpkg returned an error code (1); dpkg: error processing package rbbroken (--configure): " +
				"installed rbbroken package post-installation script subprocess returned error exit status 1; " +
				"rbbroken: cannot configure: /etc/rbbroken/license.key is missing"},
		// The same with apt giving dpkg a terminal: dpkg's words on stdout.
		{"Selecting previously unselected package rbbroken.\nPreparing to unpack .../rbbroken_1.0-1_all.deb ...\nUnpacking rbbroken (1.0-1) ...\n" +
			"Setting up rbbroken (1.0-1) ...\r\nrbbroken: cannot configure: /etc/rbbroken/license.key is missing\r\n" +
			"dpkg: error processing package rbbroken (--configure):\r\n installed rbbroken package post-installation script subprocess returned error exit status 1\r\n" +
			"Errors were encountered while processing:\n rbbroken\n",
			"E: Sub-process /usr/bin/dpkg returned an error code (1)\n",
			"apt: exit 100: E: Sub-process /usr/bin/dpkg returned an error code (1); dpkg: error processing package rbbroken (--configure): " +
				"installed rbbroken package post-installation script subprocess returned error exit status 1; " +
				"rbbroken: cannot configure: /etc/rbbroken/license.key is missing"},
	} {
		if got := aptError(100, tc.stdout, tc.stderr).Error(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

// testRepo is a local apt repository holding runbook-testpkg 1.0 and 2.0,
// with an APT_CONFIG that makes apt use it alone (its own lists and
// cache), so that the tests never reach the network nor touch the
// machine's own package lists.
type testRepo struct {
	dir, repo, conf string
}

const testPkg = "runbook-testpkg"

// needAptRoot skips a test that needs the real apt and root. These tests
// change the machine (they install a package and write under
// /etc/apt/sources.list.d), so they run only when RUNBOOK_REQUIRE_APT=1
// asks for it; the container lab proves the same steps on real nodes
// without touching the controller (lab/containers).
func needAptRoot(t *testing.T) {
	t.Helper()
	if os.Getenv("RUNBOOK_REQUIRE_APT") != "1" {
		t.Skip("changes this machine's packages and apt sources; runs only with RUNBOOK_REQUIRE_APT=1")
	}
	var missing []string
	for _, tool := range []string{"apt-get", "dpkg-deb", "dpkg-query", "apt-mark"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	switch {
	case len(missing) > 0:
		t.Fatal("needs " + strings.Join(missing, ", ") + " (RUNBOOK_REQUIRE_APT=1)")
	case !isRoot():
		t.Fatal("needs root to install packages (RUNBOOK_REQUIRE_APT=1)")
	}
}

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	needAptRoot(t)
	dir := t.TempDir()
	r := &testRepo{dir: dir, repo: filepath.Join(dir, "repo"), conf: filepath.Join(dir, "apt.conf")}
	var packages strings.Builder
	for _, v := range []string{"1.0", "2.0"} {
		root := filepath.Join(dir, "build-"+v)
		os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755)
		os.MkdirAll(filepath.Join(root, "usr/share", testPkg), 0o755)
		control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: runbook tests <test@runbook.invalid>\nDescription: runbook step tests\n", testPkg, v)
		os.WriteFile(filepath.Join(root, "DEBIAN/control"), []byte(control), 0o644)
		os.WriteFile(filepath.Join(root, "usr/share", testPkg, "version"), []byte(v+"\n"), 0o644)
		os.MkdirAll(r.repo, 0o755)
		deb := fmt.Sprintf("%s_%s_all.deb", testPkg, v)
		if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, filepath.Join(r.repo, deb)).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb: %v\n%s", err, out)
		}
		sum, size, err := fileSHA256(filepath.Join(r.repo, deb))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&packages, "%sFilename: ./%s\nSize: %d\nSHA256: %s\n\n", strings.TrimSuffix(control, "Description: runbook step tests\n"), deb, size, sum)
		packages.WriteString("")
	}
	// The Description must be the last field before the blank line.
	pk := strings.ReplaceAll(packages.String(), "\n\n", "\nDescription: runbook step tests\n\n")
	os.WriteFile(filepath.Join(r.repo, "Packages"), []byte(pk), 0o644)
	for _, d := range []string{"lists/partial", "cache/archives/partial", "parts"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "sources.list"), []byte("deb [trusted=yes] file:"+r.repo+" ./\n"), 0o644)
	conf := fmt.Sprintf("Dir::Etc::sourcelist %q;\nDir::Etc::sourceparts %q;\nDir::State::Lists %q;\nDir::Cache %q;\nAPT::Sandbox::User \"root\";\n",
		filepath.Join(dir, "sources.list"), filepath.Join(dir, "parts"), filepath.Join(dir, "lists"), filepath.Join(dir, "cache"))
	os.WriteFile(r.conf, []byte(conf), 0o644)
	purgeTestPkg(t)
	t.Cleanup(func() { purgeTestPkg(t) })
	return r
}

func purgeTestPkg(t *testing.T) {
	exec.Command("apt-mark", "unhold", testPkg).Run()
	if out, err := exec.Command("dpkg", "--purge", testPkg).CombinedOutput(); err != nil {
		t.Logf("dpkg --purge %s: %v\n%s", testPkg, err, out)
	}
}

// dpkgState asks dpkg directly, apart from the step.
func dpkgState(t *testing.T) pkgState {
	t.Helper()
	out, _ := exec.Command("sh", "-c", aptQueryAllScript).Output()
	return parsePkgStates(string(out))[testPkg]
}

// TestAptReal installs, upgrades, holds, downgrades and removes a real
// package with this machine's apt.
func TestAptReal(t *testing.T) {
	repo := newTestRepo(t)
	tgs := targets(t)
	tg := tgs[len(tgs)-1] // become when we can: the environment must survive sudo
	x := newExec(t, tg.tr, tg.become)
	x.Env = map[string]string{"APT_CONFIG": repo.conf}
	step := func(s string) Kind { return mustKind(t, `apt: {name: `+testPkg+`, `+s+`}`) }
	check := func(version string, held bool) {
		t.Helper()
		if s := dpkgState(t); s.Version != version || s.Held != held {
			t.Fatalf("dpkg says %+v, want version %q held %v", s, version, held)
		}
	}

	r := run(t, step(`version: "1.0", update_cache: true`), x)
	wantStatus(t, r, Changed)
	check("1.0", false)
	if r.Data["version_before"] != "" || r.Data["version_after"] != "1.0" || r.Data["held"] != false {
		t.Errorf("data %v", r.Data)
	}
	if got := readFile(t, "/usr/share/"+testPkg+"/version"); got != "1.0\n" {
		t.Errorf("installed file says %q", got)
	}
	wantStatus(t, run(t, step(`version: "1.0"`), x), OK)

	r = run(t, step(`version: "2.0", hold: true`), x)
	wantStatus(t, r, Changed)
	check("2.0", true)
	if r.Data["version_before"] != "1.0" || r.Data["version_after"] != "2.0" || r.Data["held"] != true {
		t.Errorf("data %v", r.Data)
	}
	wantStatus(t, run(t, step(`version: "2.0", hold: true`), x), OK)

	wantErr(t, run(t, step(`version: "1.0"`), x), "apt: exit 100: E: ", "--allow-downgrades")
	check("2.0", true) // the hold is put back after the failure

	r = run(t, step(`version: "1.0", allow_downgrade: true`), x)
	wantStatus(t, r, Changed)
	check("1.0", true) // held before, held again
	if !strings.Contains(r.Command, "apt-mark unhold") || !strings.Contains(r.Command, "--allow-downgrades") {
		t.Errorf("command %s", r.Command)
	}

	wantErr(t, run(t, step(`version: "9.9"`), x), "apt: exit 100: E: Version '9.9' for '"+testPkg+"' was not found")
	check("1.0", true)

	wantStatus(t, run(t, step(`hold: false`), x), Changed)
	check("1.0", false)
	wantStatus(t, run(t, step(`hold: false`), x), OK)

	wantStatus(t, run(t, step(`state: absent`), x), Changed)
	check("", false)
	wantStatus(t, run(t, step(`state: absent`), x), OK)

	wantErr(t, run(t, mustKind(t, `apt: {name: runbook-no-such-package}`), x), "E: Unable to locate package runbook-no-such-package")
}
