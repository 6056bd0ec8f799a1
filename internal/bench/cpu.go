package bench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc CPU times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// processCPU returns the user+system CPU time a process has used.
func processCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces; fields start after its ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, true
}

// machineBusy returns the CPU time all processes have used (all cores).
func machineBusy() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest is already in user
			continue
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTicks, true
}

// CPU is where the machine's processor time went during one scenario.
// The server's CPU per operation does not depend on what else runs on the
// machine; Others says how much did (other people's builds and tests on a
// shared machine make throughput and latency figures pessimistic).
type CPU struct {
	ServerMSPerOp  float64 `json:"server_ms_per_op,omitempty"`
	ServerCores    float64 `json:"server_cores"`    // average cores the server kept busy
	GeneratorCores float64 `json:"generator_cores"` // this process (the load generator)
	// DatabaseCores is what processes named "postgres" used (PostgreSQL
	// on this machine); 0 for SQLite, which runs inside the server.
	DatabaseCores float64 `json:"database_cores"`
	OthersCores   float64 `json:"others_cores"` // every other process
}

type cpuWatch struct {
	pid              int
	start            time.Time
	server, self     time.Duration
	busy             time.Duration
	db               time.Duration
	serverOK, busyOK bool
}

// postgresCPU sums the CPU time of the processes named postgres.
func postgresCPU() time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		if t, ok := processCPU(pid); ok {
			total += t
		}
	}
	return total
}

func watchCPU(pid int) *cpuWatch {
	w := &cpuWatch{pid: pid, start: time.Now(), db: postgresCPU()}
	if pid > 0 {
		w.server, w.serverOK = processCPU(pid)
	}
	w.self, _ = processCPU(os.Getpid())
	w.busy, w.busyOK = machineBusy()
	return w
}

func (w *cpuWatch) finish(completed int) *CPU {
	if runtime.GOOS != "linux" || !w.busyOK {
		return nil
	}
	elapsed := time.Since(w.start).Seconds()
	var c CPU
	var server time.Duration
	if w.serverOK {
		if now, ok := processCPU(w.pid); ok {
			server = now - w.server
			c.ServerCores = server.Seconds() / elapsed
			if completed > 0 {
				c.ServerMSPerOp = ms(server) / float64(completed)
			}
		}
	}
	self, _ := processCPU(os.Getpid())
	c.GeneratorCores = (self - w.self).Seconds() / elapsed
	busy, _ := machineBusy()
	// Backends that exit during the run take their CPU time with them, so
	// this is a lower bound; the pool keeps its connections, though.
	db := max(0, postgresCPU()-w.db)
	c.DatabaseCores = db.Seconds() / elapsed
	c.OthersCores = max(0, (busy-w.busy-server-(self-w.self)-db).Seconds()/elapsed)
	round := func(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
	c.ServerCores, c.GeneratorCores, c.OthersCores = round(c.ServerCores), round(c.GeneratorCores), round(c.OthersCores)
	c.DatabaseCores = round(c.DatabaseCores)
	c.ServerMSPerOp = float64(int(c.ServerMSPerOp*1000+0.5)) / 1000
	return &c
}

// selfCPU is the CPU time of this whole process (every thread: argon2
// runs its lanes on goroutines of their own), to the microsecond.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
