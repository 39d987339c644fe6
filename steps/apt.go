package steps

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
)

func init() { register[Apt]("apt") }

// Apt installs, upgrades, pins, holds or removes Debian packages, or
// upgrades the whole system: `apt: {name, version, state:
// present|absent|latest, hold, allow_downgrade, update_cache,
// cache_valid_time, upgrade: safe|full|dist, autoremove, only_upgrade,
// dpkg_options}`.
//
// name is one package or a list; NAME=VERSION pins one (version: does the
// same for a single name). It reads every package's status first
// (dpkg-query) and changes nothing when the named packages are already as
// asked: installed (present), at the candidate (latest), gone (absent),
// held or not. apt-get runs non-interactively (DEBIAN_FRONTEND=
// noninteractive, NEEDRESTART_MODE=a for Ubuntu's needrestart, the C
// locale), keeps a locally changed conffile (dpkg_options, by default
// force-confdef,force-confold), and waits for the dpkg lock up to the
// step's timeout (DPkg::Lock::Timeout), as when unattended-upgrades holds
// it. A held package is unheld for the change; hold: true holds the named
// packages afterwards, hold: false leaves them unheld, and without hold: a
// package that was held is held again. only_upgrade changes only packages
// already installed. upgrade: runs apt-get upgrade (safe), full-upgrade
// (full) or dist-upgrade (dist), which never changes held packages.
// autoremove removes the packages nothing needs any more, after the rest.
// When an earlier dpkg was cut off (apt says to run dpkg --configure -a),
// it finishes that first with the same dpkg options and tries again.
// update_cache runs apt-get update first, cache_valid_time only when the
// last successful update is older than that; an update alone is not a
// change. The data records every package whose version changed, and the
// named ones, with their versions before and after ("packages"), each
// conffile dpkg kept or replaced ("conffiles"), and for a single name its
// version and hold before and after.
type Apt struct {
	Name           PackageNames   `yaml:"name" desc:"Package name, or a list of them; NAME=VERSION pins a version."`
	Version        string         `yaml:"version" desc:"Exact version to install, e.g. 1.30.4-1.1, for a single name (default: any installed version, else the candidate)."`
	State          string         `yaml:"state" desc:"present (default), absent or latest (the candidate version)." enum:"present,absent,latest"`
	Hold           *bool          `yaml:"hold" desc:"Hold the named packages (apt-mark hold) after installing; false unholds them."`
	AllowDowngrade bool           `yaml:"allow_downgrade" desc:"Allow installing a lower version than the installed one."`
	UpdateCache    bool           `yaml:"update_cache" desc:"Run apt-get update first."`
	CacheValidTime CacheValidTime `yaml:"cache_valid_time" desc:"Update the cache only when its last update is older than this: seconds, or a duration like 1h (implies update_cache)."`
	Upgrade        string         `yaml:"upgrade" desc:"Upgrade the system: safe (apt-get upgrade), full (full-upgrade) or dist (dist-upgrade)." enum:"safe,full,dist"`
	Autoremove     bool           `yaml:"autoremove" desc:"Remove the packages nothing depends on any more (apt-get autoremove)."`
	OnlyUpgrade    bool           `yaml:"only_upgrade" desc:"Only upgrade packages already installed; install nothing new."`
	DpkgOptions    string         `yaml:"dpkg_options" desc:"dpkg options, comma-separated (default force-confdef,force-confold)."`
}

// PackageNames is one package name or a list of them.
type PackageNames []string

// DecodeYAML implements runbook.YAMLDecoder.
func (p *PackageNames) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	n = runbook.Resolve(n)
	if n == nil || runbook.IsNull(n) {
		return
	}
	if n.Kind == yaml.SequenceNode {
		for _, e := range n.Content {
			if s, ok := d.Scalar(e, "a package name"); ok {
				*p = append(*p, s)
			}
		}
		return
	}
	if s, ok := d.Scalar(n, "a package name or a list of them"); ok && s != "" {
		*p = PackageNames{s}
	}
}

// JSONSchema implements runbook.SchemaProvider.
func (*PackageNames) JSONSchema(*runbook.SchemaGen) map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "string"},
		map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
	}}
}

// CacheValidTime is a number of seconds (as Ansible writes it) or a
// duration.
type CacheValidTime time.Duration

// DecodeYAML implements runbook.YAMLDecoder.
func (c *CacheValidTime) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	s, ok := d.Scalar(n, "seconds or a duration")
	if !ok || s == "" {
		return
	}
	if secs, err := strconv.ParseUint(s, 10, 32); err == nil {
		*c = CacheValidTime(time.Duration(secs) * time.Second)
		return
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		d.Errorf(n, "cache_valid_time %q: give seconds (3600) or a duration like 1h", s)
		return
	}
	*c = CacheValidTime(v)
}

// JSONSchema implements runbook.SchemaProvider.
func (*CacheValidTime) JSONSchema(*runbook.SchemaGen) map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "integer", "minimum": 0},
		map[string]any{"type": "string"},
	}}
}

var (
	debNameRe    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?$`) })
	debVersionRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9.+~:*-]+$`) })
	dpkgOptionRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]*(=[A-Za-z0-9_./:-]+)?$`) })
)

// aptTarget is one named package and the version asked for it.
type aptTarget struct{ Name, Version string }

// targets splits the names into packages and pinned versions.
func (a *Apt) targets() []aptTarget {
	out := make([]aptTarget, 0, len(a.Name))
	for _, n := range a.Name {
		name, version, _ := strings.Cut(strings.TrimSpace(n), "=")
		out = append(out, aptTarget{Name: name, Version: version})
	}
	if len(out) == 1 && a.Version != "" {
		out[0].Version = a.Version
	}
	return out
}

// checkTargets reports the first name or version that is not one.
func checkTargets(ts []aptTarget) (field, msg string) {
	for _, t := range ts {
		if runbook.HasTemplate(t.Name) || runbook.HasTemplate(t.Version) {
			continue
		}
		if !debNameRe().MatchString(t.Name) {
			return "name", strconv.Quote(t.Name) + " is not a Debian package name"
		}
		if t.Version != "" && !debVersionRe().MatchString(t.Version) {
			return "version", strconv.Quote(t.Version) + " is not a Debian version"
		}
	}
	return "", ""
}

// dpkgOptions are the -o Dpkg::Options arguments.
func (a *Apt) dpkgOptions() []string {
	opts := a.DpkgOptions
	if strings.TrimSpace(opts) == "" {
		opts = "force-confdef,force-confold"
	}
	var out []string
	for _, o := range strings.Split(opts, ",") {
		if o = strings.TrimPrefix(strings.TrimSpace(o), "--"); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// Validate implements runbook.StepSpec.
func (a *Apt) Validate(c *runbook.Check) {
	ts := a.targets()
	if field, msg := checkTargets(ts); msg != "" {
		c.Errorf(field, "apt: %s", msg)
	}
	if len(a.Name) > 1 && a.Version != "" {
		c.Errorf("version", "apt: version: goes with a single name; pin each of several with NAME=VERSION")
	}
	switch a.State {
	case "", "present":
	case "absent":
		if a.Version != "" || a.Hold != nil || a.AllowDowngrade || a.OnlyUpgrade || pinned(ts) {
			c.Errorf("state", "apt: state: absent takes no version, hold, allow_downgrade or only_upgrade")
		}
	case "latest":
		if a.Version != "" || pinned(ts) {
			c.Errorf("state", "apt: state: latest installs the candidate version; drop the version, or use state: present")
		}
	default:
		c.Errorf("state", "apt: state %q: use present, absent or latest", a.State)
	}
	switch a.Upgrade {
	case "":
	case "safe", "full", "dist":
		if len(a.Name) > 0 || a.State != "" || a.Hold != nil || a.OnlyUpgrade {
			c.Errorf("upgrade", "apt: upgrade: upgrades the whole system; it takes no name, state, hold or only_upgrade (use a step of its own)")
		}
	default:
		c.Errorf("upgrade", "apt: upgrade %q: use safe, full or dist", a.Upgrade)
	}
	if len(a.Name) == 0 && a.Upgrade == "" && !a.Autoremove && !a.UpdateCache && a.CacheValidTime == 0 {
		c.Errorf("", "apt: needs name: (a package or a list), upgrade:, autoremove: or update_cache:")
	}
	for _, o := range a.dpkgOptions() {
		if !dpkgOptionRe().MatchString(o) {
			c.Errorf("dpkg_options", "apt: dpkg_options: %q is not a dpkg option like force-confold", o)
		}
	}
}

func pinned(ts []aptTarget) bool {
	for _, t := range ts {
		if t.Version != "" {
			return true
		}
	}
	return false
}

// Describe implements Kind.
func (a *Apt) Describe() string {
	var parts []string
	switch {
	case a.CacheValidTime > 0:
		parts = append(parts, "update cache if older than "+time.Duration(a.CacheValidTime).String())
	case a.UpdateCache:
		parts = append(parts, "update cache")
	}
	var names []string
	for _, t := range a.targets() {
		if t.Version != "" {
			names = append(names, t.Name+" = "+t.Version)
		} else {
			names = append(names, t.Name)
		}
	}
	switch {
	case a.Upgrade != "":
		parts = append(parts, "upgrade ("+a.Upgrade+")")
	case a.State == "absent" && len(names) > 0:
		parts = append(parts, "remove "+strings.Join(names, ", "))
	case a.State == "latest" && len(names) > 0:
		parts = append(parts, strings.Join(names, ", ")+" at the latest version")
	case len(names) > 0:
		parts = append(parts, strings.Join(names, ", "))
	}
	if a.OnlyUpgrade {
		parts = append(parts, "only upgrade")
	}
	if a.Hold != nil {
		parts = append(parts, map[bool]string{true: "hold", false: "unhold"}[*a.Hold])
	}
	if a.AllowDowngrade {
		parts = append(parts, "allow downgrade")
	}
	if a.Autoremove {
		parts = append(parts, "autoremove")
	}
	if a.DpkgOptions != "" {
		parts = append(parts, "dpkg "+strings.Join(a.dpkgOptions(), ","))
	}
	return "apt: " + strings.Join(parts, ", ")
}

// Run implements Kind.
func (a *Apt) Run(ctx context.Context, x *Exec) Result { return a.run(ctx, x, false) }

// run is Run, or Predict when check is set.
func (a *Apt) run(ctx context.Context, x *Exec, check bool) Result {
	ts := a.targets()
	if _, msg := checkTargets(ts); msg != "" {
		return Fail("", "apt: %s", msg)
	}
	for _, t := range ts {
		if runbook.HasTemplate(t.Name) || runbook.HasTemplate(t.Version) {
			return Fail("", "apt: %q was not rendered", t.Name+"="+t.Version)
		}
	}
	r := newAptRun(x, a, check)
	if a.UpdateCache || a.CacheValidTime > 0 {
		if res, ok := r.updateCache(ctx); !ok {
			return res
		}
	}
	before, err := r.queryAll(ctx)
	if err != nil {
		return r.failed(err)
	}
	switch {
	case a.Upgrade != "":
		return r.upgrade(ctx, before)
	case len(ts) == 0:
		return r.finish(ctx, before, false)
	case a.State == "absent":
		return r.remove(ctx, ts, before)
	default:
		return r.install(ctx, ts, before)
	}
}
