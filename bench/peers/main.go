// Command peers compares workflowd with a peer, Temporal (its dev server,
// SQLite), and with the physical limit, the program spawned directly: the
// same program run as one execution, one one-activity workflow, or one
// process. It prints start-to-complete latency (one at a time),
// throughput at each level of executions in flight, and peak RSS of the
// servers, the three sides taking turns in the same run. bench/peers/run.sh
// builds and starts everything; see bench/README.md.
//
//	peers worker -temporal ADDR
//	peers measure -temporal ADDR -workflowd ADDR -program PATH [flags]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peers worker|measure [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "worker":
		flags := flag.NewFlagSet("worker", flag.ExitOnError)
		address := flags.String("temporal", "127.0.0.1:7233", "Temporal frontend address")
		_ = flags.Parse(os.Args[2:])
		err = runWorker(*address)
	case "measure":
		err = measure(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

func measure(arguments []string) error {
	flags := flag.NewFlagSet("measure", flag.ExitOnError)
	temporalAddress := flags.String("temporal", "127.0.0.1:7233", "Temporal frontend address")
	workflowdAddress := flags.String("workflowd", "127.0.0.1:50051", "workflowd address")
	program := flags.String("program", "", "the program (examples/workflows/hello.sh)")
	latencyRuns := flags.Int("latency-runs", 100, "executions one at a time, per side")
	executions := flags.Int("executions", 200, "executions per throughput turn")
	levels := flags.String("levels", "2,8", "executions in flight, comma-separated")
	rounds := flags.Int("rounds", 3, "throughput turns per side and level")
	pids := flags.String("rss", "", "NAME=PID,... whose peak RSS to report")
	_ = flags.Parse(arguments)
	if *program == "" {
		return fmt.Errorf("-program is required")
	}
	args := []string{"--name", "x"}

	temporalClient, err := dialTemporal(*temporalAddress)
	if err != nil {
		return err
	}
	defer temporalClient.Close()
	workflowd, err := workflowclient.Dial(*workflowdAddress)
	if err != nil {
		return err
	}
	defer workflowd.Close()
	sides := []side{
		&directSide{program: *program, args: args},
		&workflowdSide{client: workflowd, workflow: "hello", inputs: map[string]any{"name": "x"}},
		&temporalSide{client: temporalClient, program: *program, args: args},
	}
	ctx := context.Background()
	// A warm-up turn each: connections, the worker's pollers, page caches.
	for _, s := range sides {
		if _, err := throughput(ctx, s, 20, 2); err != nil {
			return fmt.Errorf("%s warm-up: %w", s.name(), err)
		}
	}

	// Latency: one at a time, in chunks that take turns.
	const chunk = 10
	latencies := make([][]time.Duration, len(sides))
	for done := 0; done < *latencyRuns; done += chunk {
		for _, s := range rotated(sides, done/chunk) {
			index := indexOf(sides, s)
			for n := 0; n < chunk && done+n < *latencyRuns; n++ {
				started := time.Now()
				if err := s.run(ctx); err != nil {
					return fmt.Errorf("%s: %w", s.name(), err)
				}
				latencies[index] = append(latencies[index], time.Since(started))
			}
		}
	}
	fmt.Printf("start-to-complete latency, one at a time, %d runs each:\n", *latencyRuns)
	direct := percentiles(latencies[0])
	for i, s := range sides {
		p := percentiles(latencies[i])
		fmt.Printf("  %-12s p50 %7.2f ms  p99 %7.2f ms  (%.1fx / %.1fx the direct spawn)\n",
			s.name(), ms(p[0]), ms(p[1]), ms(p[0])/ms(direct[0]), ms(p[1])/ms(direct[1]))
	}

	for _, field := range strings.Split(*levels, ",") {
		inFlight, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			return fmt.Errorf("-levels: %q is not a number", field)
		}
		rates := make([][]float64, len(sides))
		for round := 0; round < *rounds; round++ {
			for _, s := range rotated(sides, round) {
				rate, err := throughput(ctx, s, *executions, inFlight)
				if err != nil {
					return fmt.Errorf("%s: %w", s.name(), err)
				}
				rates[indexOf(sides, s)] = append(rates[indexOf(sides, s)], rate)
			}
		}
		fmt.Printf("throughput, %d in flight, %d turns of %d executions (median):\n", inFlight, *rounds, *executions)
		limit := median(rates[0])
		for i, s := range sides {
			rate := median(rates[i])
			fmt.Printf("  %-12s %8.1f/s  (%.2fx the direct spawn)\n", s.name(), rate, rate/limit)
		}
	}

	if *pids != "" {
		fmt.Println("peak RSS (VmHWM):")
		for _, pair := range strings.Split(*pids, ",") {
			name, pid, _ := strings.Cut(pair, "=")
			fmt.Printf("  %-16s %s\n", name, peakRSS(pid))
		}
	}
	return nil
}

// throughput runs `executions` executions with `inFlight` at a time and
// returns executions per second.
func throughput(ctx context.Context, s side, executions, inFlight int) (float64, error) {
	var next atomic.Int64
	var failure atomic.Value
	var wg sync.WaitGroup
	started := time.Now()
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(executions) {
				if err := s.run(ctx); err != nil {
					failure.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, failed := failure.Load().(error); failed {
		return 0, err
	}
	return float64(executions) / time.Since(started).Seconds(), nil
}

// rotated is `sides` starting at `by`, so no side always follows another
// as the machine's speed drifts.
func rotated(sides []side, by int) []side {
	by %= len(sides)
	return append(append([]side{}, sides[by:]...), sides[:by]...)
}

func indexOf(sides []side, s side) int {
	for i := range sides {
		if sides[i] == s {
			return i
		}
	}
	panic("not a side")
}

func percentiles(durations []time.Duration) [2]time.Duration {
	sorted := append([]time.Duration{}, durations...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	at := func(p float64) time.Duration { return sorted[int(float64(len(sorted)-1)*p+0.5)] }
	return [2]time.Duration{at(0.5), at(0.99)}
}

func median(values []float64) float64 {
	sorted := append([]float64{}, values...)
	sort.Float64s(sorted)
	return sorted[len(sorted)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// peakRSS reads VmHWM of process `pid`.
func peakRSS(pid string) string {
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, line := range strings.Split(string(status), "\n") {
		if value, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(value)
		}
	}
	return "unknown"
}
