package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for people: one line per scenario and
// target, then each target of issue 5 judged.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "twofold bench  %s  %s  %d cores (%s)  %s\n", r.Date, r.Database, r.Machine.Cores, r.Machine.CPU, r.Machine.GoVersion)
	fmt.Fprintf(w, "argon2id %s: %.1f ms of CPU per hash (%.1f ms elapsed; median of %d) → bound %.1f hashes/s on %d cores\n",
		r.HashBound.Params, r.HashBound.HashMS, r.HashBound.WallMS, r.HashBound.Samples, r.HashBound.PerSecond, r.HashBound.Cores)
	fmt.Fprintf(w, "seeded %d users + %d filler users in %.1f s\n\n", r.Seeded.Users, r.Seeded.FillerUsers, r.Seeded.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\ttarget\tclients\tseconds\tcompleted\tper s\tp50 ms\tp95 ms\tp99 ms\tmax ms\terrors\tpeak RSS MB\tsrv CPU ms/op\tsrv cores\tdb cores\tgen cores\tothers cores\t")
	for _, x := range r.Results {
		rss := "-"
		if x.ServerRSS != nil {
			rss = fmt.Sprintf("%.1f", x.ServerRSS.PeakMB)
		}
		completed := fmt.Sprint(x.Completed)
		if x.Exhausted {
			completed += "*"
		}
		cpuOp, srv, db, gen, others := "-", "-", "-", "-", "-"
		if x.CPU != nil {
			if x.CPU.ServerMSPerOp > 0 {
				cpuOp = fmt.Sprintf("%.3f", x.CPU.ServerMSPerOp)
			}
			srv, db = fmt.Sprintf("%.2f", x.CPU.ServerCores), fmt.Sprintf("%.2f", x.CPU.DatabaseCores)
			gen, others = fmt.Sprintf("%.2f", x.CPU.GeneratorCores), fmt.Sprintf("%.2f", x.CPU.OthersCores)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.1f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			x.Scenario, x.Target, clients(x.Stats), x.Seconds, completed, x.PerSecond,
			x.LatencyMS.P50, x.LatencyMS.P95, x.LatencyMS.P99, x.LatencyMS.Max, x.Errors, rss, cpuOp, srv, db, gen, others)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, x := range r.Results {
		if len(x.ErrorsBy) > 0 {
			keys := make([]string, 0, len(x.ErrorsBy))
			for k := range x.ErrorsBy {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = fmt.Sprintf("%s ×%d", k, x.ErrorsBy[k])
			}
			fmt.Fprintf(w, "errors %s/%s: %s\n", x.Scenario, x.Target, strings.Join(parts, ", "))
		}
		if x.Exhausted {
			fmt.Fprintf(w, "* %s: the %d prepared users ran out before the duration did (each signs in once per run); raise --users\n", x.Scenario, r.Config.Users)
		}
	}
	if len(r.Checks) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "target\tvalue\tbaseline\tratio\twant\tmet")
		for _, c := range r.Checks {
			base, ratio := "", ""
			if c.Baseline != 0 {
				base, ratio = fmt.Sprintf("%.1f", c.Baseline), fmt.Sprintf("%.2f", c.Ratio)
			}
			met := "no"
			if c.Met {
				met = "yes"
			}
			fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t%s\t%s\n", c.Target, c.Value, base, ratio, c.Want, met)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return nil
}

func clients(s Stats) string {
	if s.Rate > 0 {
		return fmt.Sprintf("%d @%.0f/s", s.Concurrency, s.Rate)
	}
	return fmt.Sprint(s.Concurrency)
}
