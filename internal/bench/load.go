package bench

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// maxSamples bounds the latencies one worker keeps (memory stays bounded
// however fast the server is); beyond it, samples are thinned evenly.
const maxSamples = 1 << 20

// outcome is what one operation reports: the HTTP status that ended it (0
// for a transport error) and the problem code of an error answer.
type outcome struct {
	ok     bool
	status int
	code   string
}

// operation runs one unit of work (one request, or the two of a full
// sign-in) for worker w. done is false when there is no more work (the
// pool of prepared users is used up).
type operation func(ctx context.Context, w int) (o outcome, done bool)

// Stats are the figures of one driven load.
type Stats struct {
	Concurrency int            `json:"concurrency"`
	Rate        float64        `json:"rate_per_second,omitempty"` // the schedule; 0 = as fast as answered
	Seconds     float64        `json:"seconds"`
	Completed   int            `json:"completed"`
	Errors      int            `json:"errors"`
	ErrorsBy    map[string]int `json:"errors_by_status,omitempty"`
	PerSecond   float64        `json:"per_second"`
	LatencyMS   Latency        `json:"latency_ms"`
	// Exhausted is set when the prepared users ran out before the
	// duration did; the rate is over the time actually run.
	Exhausted bool `json:"exhausted,omitempty"`
}

// Latency percentiles of the successful operations, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type workerStats struct {
	samples   []time.Duration
	stride    int // keep every stride-th sample once full
	seen      int
	completed int
	errors    map[string]int
}

func (s *workerStats) add(d time.Duration) {
	s.seen++
	if s.seen%s.stride != 0 {
		return
	}
	if len(s.samples) == maxSamples {
		// Keep every other sample and halve the rate from now on.
		kept := s.samples[:0]
		for i := 0; i < len(s.samples); i += 2 {
			kept = append(kept, s.samples[i])
		}
		s.samples = kept
		s.stride *= 2
	}
	s.samples = append(s.samples, d)
}

// drive runs op from concurrency workers until duration has passed (or the
// work runs out, or ctx ends), and measures every operation. With rate 0
// each worker starts its next operation as soon as the last one ends
// (closed loop: the figures are the server's capacity). With a rate, the
// operations are started on a fixed schedule of rate per second, shared by
// the workers, and each latency counts from its scheduled start, so a
// server (or generator) that falls behind shows as latency rather than
// hiding it.
func drive(ctx context.Context, concurrency int, duration time.Duration, rate float64, op operation) Stats {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	per := make([]*workerStats, concurrency)
	var exhausted bool
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	var scheduled atomic.Int64
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	for w := range concurrency {
		ws := &workerStats{stride: 1, errors: map[string]int{}}
		per[w] = ws
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if interval > 0 {
					t0 = start.Add(time.Duration(scheduled.Add(1)-1) * interval)
					if wait := time.Until(t0); wait > 0 {
						select {
						case <-time.After(wait):
						case <-ctx.Done():
							return
						}
					}
				}
				o, done := op(ctx, w)
				if done { // the others finish what they started
					mu.Lock()
					exhausted = true
					mu.Unlock()
					return
				}
				if ctx.Err() != nil && !o.ok && o.status == 0 {
					return // cut off by the end of the run, not a failure
				}
				if o.ok {
					ws.completed++
					ws.add(time.Since(t0))
				} else {
					ws.errors[errorKey(o)]++
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	st := Stats{Concurrency: concurrency, Rate: rate, Seconds: elapsed.Seconds(), ErrorsBy: map[string]int{}, Exhausted: exhausted}
	var all []time.Duration
	for _, ws := range per {
		st.Completed += ws.completed
		all = append(all, ws.samples...)
		for k, n := range ws.errors {
			st.ErrorsBy[k] += n
			st.Errors += n
		}
	}
	if len(st.ErrorsBy) == 0 {
		st.ErrorsBy = nil
	}
	st.PerSecond = float64(st.Completed) / elapsed.Seconds()
	st.LatencyMS = percentiles(all)
	return st
}

func errorKey(o outcome) string {
	if o.status == 0 {
		return "transport"
	}
	k := strconv.Itoa(o.status)
	if o.code != "" {
		k += " " + o.code
	}
	return k
}

func percentiles(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		i := int(p*float64(len(d))+0.5) - 1
		i = min(max(i, 0), len(d)-1)
		return ms(d[i])
	}
	return Latency{P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: ms(d[len(d)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
