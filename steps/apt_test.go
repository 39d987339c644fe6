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
	for _, tc := range []struct {
		step string
		want string
	}{
		{`apt: {name: cri-o, version: 1.30.4-1.1}`,
			"apt-get install -y -q -o DPkg::Lock::Timeout=270 -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef -- 'cri-o=1.30.4-1.1'"},
		{`apt: {name: cri-o, version: "1:1.29.9~rc1-1.1", allow_downgrade: true}`,
			"apt-get install -y -q -o DPkg::Lock::Timeout=270 -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef --allow-downgrades -- 'cri-o=1:1.29.9~rc1-1.1'"},
		{`apt: {name: kubelet}`,
			"apt-get install -y -q -o DPkg::Lock::Timeout=270 -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef -- kubelet"},
	} {
		if got := mustKind(t, tc.step).(*Apt).installCommand(5 * time.Minute); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.step, got, tc.want)
		}
	}
	a := mustKind(t, `apt: {name: cri-o, state: absent}`).(*Apt)
	if got, want := a.removeCommand(10*time.Minute), "apt-get remove -y -q -o DPkg::Lock::Timeout=570 -- cri-o"; got != want {
		t.Errorf("remove: %s, want %s", got, want)
	}
	for _, tc := range []struct {
		timeout time.Duration
		want    int
	}{{0, 600}, {10 * time.Minute, 570}, {100 * time.Second, 90}, {2 * time.Second, 1}, {500 * time.Millisecond, 1}} {
		if got := lockWait(tc.timeout); got != tc.want {
			t.Errorf("lockWait(%v) = %d, want %d", tc.timeout, got, tc.want)
		}
	}
	if got := aptQueryScript("cri-o"); got != `dpkg-query -W -f='${Status}|${Version}\n' -- cri-o 2>/dev/null || true` {
		t.Errorf("query: %s", got)
	}
}

func TestParsePkgState(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want pkgState
	}{
		{"", pkgState{}},
		{"install ok installed|1.30.4-1.1\n", pkgState{Installed: true, Version: "1.30.4-1.1"}},
		{"hold ok installed|1.29.9-1.1\n", pkgState{Installed: true, Held: true, Version: "1.29.9-1.1"}},
		{"deinstall ok config-files|1.29.9-1.1\n", pkgState{}},
		{"install ok half-configured|1.30.4-1.1\n", pkgState{}},
		{"hold ok not-installed|\n", pkgState{Held: true}},
		{"garbage", pkgState{}},
	} {
		if got := parsePkgState(tc.out); got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.out, got, tc.want)
		}
	}
}

func TestAptError(t *testing.T) {
	stderr := "W: Some warning\nE: Version '1.30.9' for 'cri-o' was not found\n"
	if got, want := aptError(100, "Reading package lists...\n", stderr).Error(), "apt: exit 100: E: Version '1.30.9' for 'cri-o' was not found"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := aptError(1, "", "dpkg: error: something\n").Error(); got != "apt: exit 1: dpkg: error: something" {
		t.Errorf("got %s", got)
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
	out, _ := exec.Command("sh", "-c", aptQueryScript(testPkg)).Output()
	return parsePkgState(string(out))
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
