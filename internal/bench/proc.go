package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// statusKB reads one "VmXXX:   1234 kB" field of /proc/<pid>/status.
func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// rssWatch follows the resident memory of a process during one scenario.
// It resets the kernel's high-water mark at the start (writing 5 to
// clear_refs, Linux 4.0+) so VmHWM is the scenario's own peak, and also
// samples VmRSS every 20 ms in case the reset is not permitted.
type rssWatch struct {
	pid      int
	reset    bool
	stop     chan struct{}
	done     sync.WaitGroup
	mu       sync.Mutex
	maxKB    int64
	sampleOK bool
}

func watchRSS(pid int) *rssWatch {
	w := &rssWatch{pid: pid, stop: make(chan struct{})}
	if pid <= 0 {
		return w
	}
	w.reset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	w.done.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := statusKB(pid, "VmRSS"); err == nil {
				w.mu.Lock()
				w.maxKB, w.sampleOK = max(w.maxKB, kb), true
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	})
	return w
}

// RSS is a process's peak resident memory over a scenario.
type RSS struct {
	PeakMB float64 `json:"peak_mb"`
	// Source says how it was measured: "VmHWM since scenario start",
	// "VmHWM since process start" (the reset was refused; an upper
	// bound) or "VmRSS sampled every 20 ms".
	Source string `json:"source"`
}

func (w *rssWatch) finish() *RSS {
	if w.pid <= 0 {
		return nil
	}
	close(w.stop)
	w.done.Wait()
	hwm, err := statusKB(w.pid, "VmHWM")
	switch {
	case err == nil && w.reset:
		return &RSS{PeakMB: mb(max(hwm, w.maxKB)), Source: "VmHWM since scenario start"}
	case err == nil:
		return &RSS{PeakMB: mb(hwm), Source: "VmHWM since process start"}
	case w.sampleOK:
		return &RSS{PeakMB: mb(w.maxKB), Source: "VmRSS sampled every 20 ms"}
	}
	return nil
}

func mb(kb int64) float64 { return float64(kb*10/1024) / 10 }

// Machine describes where the figures were measured.
type Machine struct {
	Cores     int    `json:"cores"`
	CPU       string `json:"cpu"`
	GoVersion string `json:"go"`
	OS        string `json:"os"`
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	return m
}
