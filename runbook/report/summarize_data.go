package report

import (
	"fmt"
	"time"
)

// nonNil makes the summary's lists empty rather than nil, so that JSON shows
// [] rather than null.
func nonNil(s *Summary) {
	if s.Targets == nil {
		s.Targets = []string{}
	}
	if s.Phases == nil {
		s.Phases = []PhaseSummary{}
	}
	for i := range s.Phases {
		if s.Phases[i].Hosts == nil {
			s.Phases[i].Hosts = []string{}
		}
	}
	for i := range s.Hosts {
		if s.Hosts[i].Steps == nil {
			s.Hosts[i].Steps = []StepSummary{}
		}
	}
	if s.Backups == nil {
		s.Backups = []Backup{}
	}
	if s.Versions == nil {
		s.Versions = []VersionChange{}
	}
	if s.Approvals == nil {
		s.Approvals = []ApprovalSummary{}
	}
	if s.Waits == nil {
		s.Waits = []WaitSummary{}
	}
	if s.Messages == nil {
		s.Messages = []MessageSummary{}
	}
	if s.Lifecycle == nil {
		s.Lifecycle = []RunEvent{}
	}
}

// collectData gathers the backups and version changes a step recorded.
func collectData(s *Summary, st StepSummary) {
	if st.Open() || len(st.Data) == 0 {
		return
	}
	d := st.Data
	if sum := dataString(d, "sha256"); sum != "" && st.Kind != "restore" {
		name := dataString(d, "backup")
		if name == "" {
			name = st.Step
		}
		s.Backups = append(s.Backups, Backup{Host: st.Host, Step: st.Step, Name: name, SHA256: sum,
			Remote: dataString(d, "remote"), Local: dataString(d, "local"), Time: st.Ended})
	}
	before, after := dataString(d, "version_before"), dataString(d, "version_after")
	if before != "" || after != "" {
		s.Versions = append(s.Versions, VersionChange{Host: st.Host, Step: st.Step, Phase: st.Phase,
			Package: dataString(d, "package"), Before: before, After: after,
			Rollback: st.IsRollback(), Time: st.Ended})
	}
}

func dataString(d map[string]any, key string) string {
	v, ok := d[key]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func firstTime(b *builder) time.Time {
	var t time.Time
	for _, h := range b.hosts {
		for _, st := range h.sum.Steps {
			if t.IsZero() || st.Started.Before(t) {
				t = st.Started
			}
		}
	}
	if t.IsZero() {
		return b.last
	}
	return t
}

func nonNegative(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
