package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// renderTable is the report as Markdown tables, printed as is and embedded
// in BENCHMARKS.md.
func renderTable(res *Results) string {
	var b strings.Builder
	bySubject := map[string]Target{}
	for _, t := range res.Targets {
		if t.Subject != "" {
			bySubject[t.Subject] = t
		}
	}
	fmt.Fprintf(&b, "\n### One call (each subject %d runs, interleaved)\n\n", maxN(res.Subjects))
	b.WriteString("| subject | median ms | p90 ms | × floor | CPU ms (median) | CPU × floor | target |\n|---|--:|--:|--:|--:|--:|---|\n")
	floorCPU := 0.0
	for _, s := range res.Subjects {
		if s.Key == kFloor {
			floorCPU = s.CPU.Median
		}
	}
	for _, s := range res.Subjects {
		target := ""
		if t, ok := bySubject[s.Key]; ok {
			target = fmt.Sprintf("**%s** %s: %s", t.Status, t.Limit, t.Margin)
		}
		if s.Broken != "" {
			fmt.Fprintf(&b, "| %s | broken: %s | | | | | |\n", s.Label, cell(s.Broken))
			continue
		}
		label := s.Label
		if s.Note != "" {
			label += " — " + s.Note
		}
		if s.Failures > 0 {
			label += fmt.Sprintf(" (%d failed runs left out)", s.Failures)
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s |\n", label, s.Wall.Median, s.Wall.P90, s.Ratio,
			s.CPU.Median, s.CPU.Median/floorCPU, target)
	}
	if kr, ok := res.byKey[kProbe]; ok {
		fmt.Fprintf(&b, "\nOne keyring round trip (probe − floor, as a fresh process pays it: D-Bus connect, session, lookup): %.2f ms.\n",
			kr.Median-res.byKey[kFloor].Median)
	}
	if held, ok := res.byKey[kCachedKeyr]; ok {
		if dbus, ok := res.byKey[kCachedDBus]; ok {
			fmt.Fprintf(&b, "The data key held for the session (kernel keyring) saves %.2f ms per cached call against reading it from the Secret Service on every call.\n",
				dbus.Median-held.Median)
		}
	}
	if agent, ok := res.byKey[kCachedAgent]; ok {
		if dbus, ok := res.byKey[kCachedDBus]; ok {
			fmt.Fprintf(&b, "Where keyctl is refused (containers), the kubeiam agent holds it instead and saves %.2f ms per cached call.\n",
				dbus.Median-agent.Median)
		}
	}

	if len(res.Herds) > 0 {
		fmt.Fprintf(&b, "\n### Herds: N concurrent cold calls with AssumeRole, empty file cache (%d trials)\n\n", res.Herds[0].Wall.N)
		b.WriteString("| N | AssumeRole calls per trial | wall median ms | p90 ms | × one cold call | N floors at once, median ms | × N floors | N cached hits at once, median ms | hits ÷ floors | wall − hits, ms |\n|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, h := range res.Herds {
			fmt.Fprintf(&b, "| %d | %v | %.1f | %.1f | %.2f | %.1f | %.2f | %.1f | %.2f | %.1f |\n", h.N, h.AssumeRoles, h.Wall.Median, h.Wall.P90, h.RatioToOne,
				h.Floor.Median, h.Wall.Median/h.Floor.Median, h.Hits.Median, h.Hits.Median/h.Floor.Median, h.Wall.Median-h.Hits.Median)
		}
		b.WriteString("\nN floors at once is what N process starts alone cost here (" + res.Machine.Nproc + " CPUs): no herd of N processes can finish sooner. " +
			"N cached hits at once is the same herd again on the cache it filled: what N front processes cost without the refresh, and hits ÷ floors " +
			"is what one front process costs next to a bare Go process when the CPUs are saturated (no herd beats it); wall − hits is what the one refresh adds to a herd (compare one cold call).\n")
	}

	if d := res.DeadNet; d != nil {
		b.WriteString("\n### `kubeiam token` with a dead network: STS accepts connections and never answers (default settings)\n\n")
		b.WriteString("| case | runs | median ms | p90 ms | what it printed |\n|---|--:|--:|--:|---|\n")
		fmt.Fprintf(&b, "| cold call, role to assume: gives up | %d | %.0f | %.0f | `%s` |\n", d.GiveUp.N, d.GiveUp.Median, d.GiveUp.P90, d.Message)
		fmt.Fprintf(&b, "| cached token still valid, due for renewal: served as it is | %d | %.0f | %.0f | the token; `%s` (once a minute) |\n", d.Stale.N, d.Stale.Median, d.Stale.P90, d.Warning)
		fmt.Fprintf(&b, "| normal cached hit, same entry | %d | %.1f | %.1f | the token |\n", d.Cached.N, d.Cached.Median, d.Cached.P90)
	}

	if len(res.Merge) > 0 {
		fmt.Fprintf(&b, "\n### `kubeiam kubeconfig write --merge` into a kubeconfig of N contexts (%d runs)\n\n", res.Merge[0].Wall.N)
		b.WriteString("| contexts | file MB | median ms | p90 ms | µs per context (median − start-up) | kubectl config set-context, median ms |\n|--:|--:|--:|--:|--:|--:|\n")
		for _, m := range res.Merge {
			kc := "—"
			if m.Kubectl.N > 0 {
				kc = fmt.Sprintf("%.1f", m.Kubectl.Median)
			}
			fmt.Fprintf(&b, "| %d | %.2f | %.1f | %.1f | %.1f | %s |\n", m.Contexts, float64(m.Bytes)/(1<<20), m.Wall.Median, m.Wall.P90, m.PerCtxUS, kc)
		}
		fmt.Fprintf(&b, "\nStart-up reference, `kubeiam version` (front, then kubeiam-core): %.1f ms median.\n", res.Startup.Median)
		if res.Kubectl != "" {
			fmt.Fprintf(&b, "kubectl is %s; it adds one context to the same file (no cluster or user), up to 1,000 contexts.\n", res.Kubectl)
		}
	}
	if h := res.LockHold; h != nil {
		fmt.Fprintf(&b, "\n### `<file>.lock` held by a merge into %d contexts (%.2f MB, each run a new process)\n\n", h.Contexts, float64(h.Bytes)/(1<<20))
		b.WriteString("| file | runs | median ms | p99 ms | max ms |\n|---|--:|--:|--:|--:|\n")
		fmt.Fprintf(&b, "| last written > 5 s before (checked with one stat) | %d | %.2f | %.2f | %.2f |\n", h.Settled.N, h.Settled.Median, h.Settled.P99, h.Settled.Max)
		fmt.Fprintf(&b, "| written just before (checked byte for byte) | %d | %.2f | %.2f | %.2f |\n", h.Fresh.N, h.Fresh.Median, h.Fresh.P99, h.Fresh.Max)
		b.WriteString("\nReading, parsing, the edit, encoding and the synced temporary file come before the lock; under it, only the check that the file is unchanged, the .bak link and the rename.\n")
	}

	if bu := res.Bundle; bu != nil {
		fmt.Fprintf(&b, "\n### Download and verify a %d MB archive on loopback\n\n", bu.ArchiveMB)
		b.WriteString("| subject | median ms | MB/s | peak RSS MB |\n|---|--:|--:|--:|\n")
		fmt.Fprintf(&b, "| curl -s URL \\| sha256sum (%d runs) | %.1f | %.0f | %.1f |\n", bu.Curl.N, bu.Curl.Median, bu.CurlMBps, bu.CurlRSSMB)
		if bu.Kubeiam.N > 0 {
			fmt.Fprintf(&b, "| kubeiam bundle install | %.1f | %.0f | %.1f |\n", bu.Kubeiam.Median, bu.KubeiamMBps, bu.KubeiamRSS)
		} else {
			fmt.Fprintf(&b, "| kubeiam bundle install | %s | | |\n", bu.Note)
		}
	}

	if len(res.Init) > 0 {
		fmt.Fprintf(&b, "\n### Binaries: size and package init (GODEBUG=inittrace=1, %d runs)\n\n", res.Init[0].Total.N)
		b.WriteString("| binary | size MB | packages with init | init total ms (median) | p90 ms | by module (ms) | largest packages (ms) |\n|---|--:|--:|--:|--:|---|---|\n")
		for _, in := range res.Init {
			var top []string
			for _, p := range in.Top[:min(5, len(in.Top))] {
				top = append(top, fmt.Sprintf("%s %.2f", p.Package, p.MS))
			}
			var mods []string
			for _, p := range in.ByModule[:min(4, len(in.ByModule))] {
				mods = append(mods, fmt.Sprintf("%s %.2f", p.Package, p.MS))
			}
			fmt.Fprintf(&b, "| %s | %.1f | %d | %.2f | %.2f | %s | %s |\n", in.Binary, float64(in.SizeBytes)/(1<<20), in.Packages,
				in.Total.Median, in.Total.P90, strings.Join(mods, ", "), strings.Join(top, ", "))
		}
	}

	b.WriteString("\n### Targets\n\n| target | limit | measured | result | margin |\n|---|---|---|---|---|\n")
	for _, t := range res.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s | **%s** | %s |\n", cell(t.Name), cell(t.Limit), cell(t.Measured), t.Status, cell(t.Margin))
	}
	if len(res.Skipped) > 0 {
		b.WriteString("\nNot measured: " + strings.Join(res.Skipped, "; ") + ".\n")
	}
	return b.String()
}

// cell escapes a table cell ("curl | sha256sum" is one cell).
func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func maxN(ss []SubjectResult) int {
	n := 0
	for _, s := range ss {
		n = max(n, s.Wall.N)
	}
	return n
}

func renderMarkdown(res *Results, table string) string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Generated by `make bench` (bench/, results also in bench/results.json). Do not edit by hand.\n\n")
	fmt.Fprintf(&b, "Machine: %s.\n\n", res.Machine)
	fmt.Fprintf(&b, "Measured: %s (as `make build` built the working tree).\n\n", res.Version)
	b.WriteString(`How to read it: the machine is shared and noisy, so absolute times mean little; the subjects of
each table ran interleaved (a new random order every round), so load hits them alike, and the ratios
are of medians from the same run. Every subject's output was checked once before timing: tokens
passed ` + "`kubeiam verify --sts`" + ` against the STS stand-in, herds printed one token, merged kubeconfigs
kept every entry, the installed binary had the archive's SHA-256. The
floor is a hello-world Go binary (same build flags) printing a small JSON document: the least any Go
exec plugin can cost. Cached and uncached kubeiam calls run ` + "`bin/kubeiam`" + ` (the small front); misses
and other verbs continue in ` + "`kubeiam-core`" + `, so their times include both starts.
`)
	b.WriteString(table)
	return b.String()
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func writeJSON(path string, res *Results) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, append(data, '\n'))
}
