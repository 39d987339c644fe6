package sim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runbookhq/runbook/lab/shell"
)

var crictlFlags = newFlagSpec("r:,runtime-endpoint:,i:,image-endpoint:,t:,timeout:,D,debug,c:,config:," +
	"name:,namespace:,label:,state:,id:,pod:,q,quiet,o:,output:,v,verbose,no-trunc,l,latest,last:,a,all,f,force,image:,s:,template:,p:")

// crictlProgram simulates crictl against the node's crio.
func (w *World) crictlProgram(c *shell.Call) int {
	cl, err := crictlFlags.parse(c.Args[1:])
	if err != nil {
		fmt.Fprintf(c.Stderr, "time=%q level=fatal msg=%q\n", time.Now().UTC().Format(time.RFC3339), "flag provided but not defined: "+strings.TrimPrefix(err.Error(), "unknown flag: "))
		return 1
	}
	if len(cl.args) == 0 {
		fmt.Fprintf(c.Stdout, "NAME:\n   crictl - client for CRI\n\nUSAGE:\n   crictl [global options] command [command options]\n\nCOMMANDS:\n   inspect, inspectp, info, pods, ps, rmp, stopp, version\n")
		return 0
	}
	verb, args := cl.args[0], cl.args[1:]
	transact := w.read
	if verb == "rmp" || verb == "stopp" {
		transact = w.run
	}
	return transact(c, func(p *pctx) int {
		if installedVersion(p.root, "cri-tools") == "" {
			p.eprintf("crictl: command not found\n")
			return 127
		}
		endpoint := crictlEndpoint(p, cl)
		if !strings.HasSuffix(endpoint, "/crio.sock") || !p.n.active("crio") {
			what := map[string]string{"pods": "listing pod sandboxes", "ps": "listing containers", "inspectp": "getting the pod sandbox status", "inspect": "getting the status of the container",
				"rmp": "removing the pod sandbox", "stopp": "stopping the pod sandbox", "version": "getting the runtime version", "info": "getting status of runtime"}[verb]
			if what == "" {
				what = "connect"
			}
			path := strings.TrimPrefix(endpoint, "unix://")
			p.eprintf("time=%q level=fatal msg=\"%s: rpc error: code = Unavailable desc = connection error: desc = \\\"transport: Error while dialing: dial unix %s: connect: no such file or directory\\\"\"\n",
				p.tx.now.UTC().Format(time.RFC3339), what, path)
			return 1
		}
		switch verb {
		case "version":
			p.printf("Version:  0.1.0\nRuntimeName:  cri-o\nRuntimeVersion:  %s\nRuntimeApiVersion:  v1\n", p.n.Crio.Version)
			return 0
		case "info":
			data, _ := json.MarshalIndent(map[string]any{
				"status": map[string]any{"conditions": []map[string]any{
					{"type": "RuntimeReady", "status": true, "reason": "", "message": ""},
					{"type": "NetworkReady", "status": true, "reason": "", "message": ""},
				}},
				"config": map[string]any{"defaultRuntime": p.n.Crio.Runtime},
			}, "", "  ")
			p.printf("%s\n", data)
			return 0
		case "pods":
			return p.crictlPods(cl)
		case "ps":
			return p.crictlPs(cl)
		case "inspectp":
			return p.crictlInspectp(args)
		case "inspect":
			return p.crictlInspect(args)
		case "rmp", "stopp":
			return p.crictlRemove(verb, args, cl)
		}
		p.eprintf("No help topic for '%s'\n", verb)
		return 3
	})
}

// crictlEndpoint is the runtime endpoint: the flag, else /etc/crictl.yaml.
func crictlEndpoint(p *pctx, cl *cmdline) string {
	if v, ok := cl.value("r", "runtime-endpoint"); ok && v != "" {
		return v
	}
	if v := env(p.call, "CONTAINER_RUNTIME_ENDPOINT"); v != "" {
		return v
	}
	cfgPath := "/etc/crictl.yaml"
	if v, ok := cl.value("c", "config"); ok {
		cfgPath = v
	}
	if data, err := readRootFile(p.root, cfgPath); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "runtime-endpoint:"); ok {
				return strings.Trim(strings.TrimSpace(v), `"'`)
			}
		}
	}
	return "unix:///run/containerd/containerd.sock" // crictl's first default endpoint
}

// humanDuration is docker/go-units' HumanDuration, as crictl shows ages.
func humanDuration(d time.Duration) string {
	s := int(d.Seconds())
	switch {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	}
	m := int(d.Minutes())
	switch {
	case m == 1:
		return "About a minute"
	case m < 60:
		return fmt.Sprintf("%d minutes", m)
	}
	h := int(d.Round(time.Hour).Hours())
	switch {
	case h == 1:
		return "About an hour"
	case h < 48:
		return fmt.Sprintf("%d hours", h)
	case h < 24*7*2:
		return fmt.Sprintf("%d days", h/24)
	case h < 24*30*2:
		return fmt.Sprintf("%d weeks", h/24/7)
	case h < 24*365*2:
		return fmt.Sprintf("%d months", h/24/30)
	}
	return fmt.Sprintf("%d years", h/24/365)
}

func matchRE(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	re, err := regexp.Compile(pattern)
	return err == nil && re.MatchString(s)
}

func matchLabels(want []string, labels labelMap) bool {
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, "=")
		if labels[k] != v {
			return false
		}
	}
	return true
}

// selectSandboxes applies crictl pods' filters, newest first.
func (p *pctx) selectSandboxes(cl *cmdline) []*sandbox {
	name, _ := cl.value("name")
	ns, _ := cl.value("namespace")
	state, _ := cl.value("state", "s")
	id, _ := cl.value("id")
	var out []*sandbox
	for _, s := range p.n.Sandboxes {
		if !matchRE(name, s.PodName) || !matchRE(ns, s.Namespace) || !matchLabels(cl.values("label"), s.Labels) {
			continue
		}
		if id != "" && !strings.HasPrefix(s.ID, id) {
			continue
		}
		if state != "" && !strings.EqualFold(strings.TrimPrefix(s.State, "SANDBOX_"), strings.ReplaceAll(state, "_", "")) && !strings.EqualFold(s.State, state) {
			continue
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	if cl.has("l", "latest") && len(out) > 1 {
		out = out[:1]
	}
	if v, ok := cl.value("last"); ok {
		var n int
		fmt.Sscan(v, &n)
		if n > 0 && len(out) > n {
			out = out[:n]
		}
	}
	return out
}

// sandboxAnnotations are the annotations kubelet gives a sandbox: where
// the pod came from (a static pod's manifest file, or the API server).
func sandboxAnnotations(s *sandbox) map[string]string {
	source := s.Source
	if source == "" {
		source = "api"
	}
	return map[string]string{
		"kubernetes.io/config.seen":   s.Created.UTC().Format(time.RFC3339Nano),
		"kubernetes.io/config.source": source,
	}
}

func (p *pctx) crictlPods(cl *cmdline) int {
	sel := p.selectSandboxes(cl)
	out, _ := cl.value("o", "output")
	switch {
	case cl.has("q", "quiet"):
		for _, s := range sel {
			p.printf("%s\n", s.ID)
		}
	case out == "json" || out == "yaml":
		items := make([]map[string]any, 0, len(sel))
		for _, s := range sel {
			items = append(items, map[string]any{
				"id": s.ID,
				"metadata": map[string]any{
					"name": s.PodName, "uid": s.PodUID, "namespace": s.Namespace, "attempt": s.Attempt,
				},
				"state":          s.State,
				"createdAt":      fmt.Sprint(s.Created.UnixNano()),
				"labels":         s.Labels,
				"annotations":    sandboxAnnotations(s),
				"runtimeHandler": "",
			})
		}
		data, _ := json.MarshalIndent(map[string]any{"items": items}, "", "  ")
		p.printf("%s\n", data)
	default:
		tw := tabwriter.NewWriter(p.out, 20, 1, 3, ' ', 0)
		fmt.Fprintln(tw, "POD ID\tCREATED\tSTATE\tNAME\tNAMESPACE\tATTEMPT\tRUNTIME")
		for _, s := range sel {
			id := shortID(s.ID)
			if cl.has("no-trunc") {
				id = s.ID
			}
			state := map[string]string{sandboxReady: "Ready", sandboxNotReady: "NotReady"}[s.State]
			fmt.Fprintf(tw, "%s\t%s ago\t%s\t%s\t%s\t%d\t(default)\n", id, humanDuration(p.tx.now.Sub(s.Created)), state, s.PodName, s.Namespace, s.Attempt)
		}
		tw.Flush()
	}
	return 0
}

// containerRow is a container with its sandbox.
type containerRow struct {
	s *sandbox
	c *container
}

func containerLabels(s *sandbox, c *container) map[string]string {
	return map[string]string{
		"io.kubernetes.container.name": c.Name,
		"io.kubernetes.pod.name":       s.PodName,
		"io.kubernetes.pod.namespace":  s.Namespace,
		"io.kubernetes.pod.uid":        s.PodUID,
	}
}

func containerAnnotations(c *container) map[string]string {
	return map[string]string{
		"io.kubernetes.container.hash":                     "3260145c",
		"io.kubernetes.container.restartCount":             fmt.Sprint(c.Attempt),
		"io.kubernetes.container.terminationMessagePath":   "/dev/termination-log",
		"io.kubernetes.container.terminationMessagePolicy": "File",
		"io.kubernetes.pod.terminationGracePeriod":         "30",
	}
}

func stateWord(state string) string {
	return map[string]string{containerRunning: "Running", containerExited: "Exited", containerUnknown: "Unknown"}[state]
}

func (p *pctx) crictlPs(cl *cmdline) int {
	name, _ := cl.value("name")
	ns, _ := cl.value("namespace")
	podID, _ := cl.value("pod", "p")
	state, _ := cl.value("state", "s")
	id, _ := cl.value("id")
	all := cl.has("a", "all")
	var rows []containerRow
	for _, s := range p.n.Sandboxes {
		if podID != "" && !strings.HasPrefix(s.ID, podID) || !matchRE(ns, s.Namespace) {
			continue
		}
		for _, c := range s.Containers {
			if !matchRE(name, c.Name) || !matchLabels(cl.values("label"), containerLabels(s, c)) || id != "" && !strings.HasPrefix(c.ID, id) {
				continue
			}
			if state != "" {
				if !strings.EqualFold(stateWord(c.State), state) && !strings.EqualFold(c.State, state) {
					continue
				}
			} else if !all && c.State != containerRunning {
				continue
			}
			rows = append(rows, containerRow{s, c})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].c.Created.After(rows[j].c.Created) })
	if cl.has("l", "latest") && len(rows) > 1 {
		rows = rows[:1]
	}
	out, _ := cl.value("o", "output")
	switch {
	case cl.has("q", "quiet"):
		for _, r := range rows {
			p.printf("%s\n", r.c.ID)
		}
	case out == "json" || out == "yaml":
		items := make([]map[string]any, 0, len(rows))
		for _, r := range rows {
			items = append(items, map[string]any{
				"id": r.c.ID, "podSandboxId": r.s.ID,
				"metadata":    map[string]any{"name": r.c.Name, "attempt": r.c.Attempt},
				"image":       map[string]any{"image": r.c.Image, "annotations": map[string]string{}, "userSpecifiedImage": ""},
				"imageRef":    r.c.Image,
				"state":       r.c.State,
				"createdAt":   fmt.Sprint(r.c.Created.UnixNano()),
				"labels":      containerLabels(r.s, r.c),
				"annotations": containerAnnotations(r.c),
			})
		}
		data, _ := json.MarshalIndent(map[string]any{"containers": items}, "", "  ")
		p.printf("%s\n", data)
	default:
		tw := tabwriter.NewWriter(p.out, 20, 1, 3, ' ', 0)
		fmt.Fprintln(tw, "CONTAINER\tIMAGE\tCREATED\tSTATE\tNAME\tATTEMPT\tPOD ID\tPOD")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s ago\t%s\t%s\t%d\t%s\t%s\n", shortID(r.c.ID), r.c.Image, humanDuration(p.tx.now.Sub(r.c.Created)),
				stateWord(r.c.State), r.c.Name, r.c.Attempt, shortID(r.s.ID), r.s.PodName)
		}
		tw.Flush()
	}
	return 0
}
