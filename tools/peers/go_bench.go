// SPDX-License-Identifier: MIT
// go_bench — meshrt-bench's actor workloads written with goroutines and
// channels (Go, Debian's golang-go), so meshrt can be compared with Go's
// scheduler on the same machine in the same run (tools/peers/run.sh).
//
// An "actor" here is a goroutine that owns a buffered channel (its mailbox)
// and handles one message at a time; a ref is the channel. Workloads are kept
// step for step with tools/bench/bench_messaging.c and bench_spawn.c:
//
//	pingpong    2 goroutines, one message in flight; ns per round trip
//	counting    producer -> counter, chunks of 1000 with 2 credits in flight;
//	            ns per message
//	threadring  100 goroutines pass one token; ns per hop
//	fjcreate    a forker goroutine starts workers, sends each one message,
//	            each reports and exits; ns per worker, until all are gone
//	ask         request/reply with a reply channel and a 5 s timeout timer
//	            per request (meshrt's asks always carry one); ns per round trip
//
// Method (as meshrt-bench): GOMAXPROCS is --threads; the goroutines are
// started and confirmed running before the clock starts; the host stamps the
// start time and sends the first message; the goroutine that sees the last
// operation stamps the end time. Each benchmark runs --runs times with a
// garbage collection between runs; the median ns/op is reported with the min
// and max. run.sh starts one process per benchmark, as meshrt-bench and
// caf_bench fork one per benchmark.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

const ringSize = 100
const countChunk = 1000
const chunksInFlight = 2
const mailbox = 64

type result struct {
	Bench     string  `json:"bench"`
	Framework string  `json:"framework"`
	Ops       uint64  `json:"ops"`
	NsPerOp   float64 `json:"ns_per_op"`
	OpsPerSec float64 `json:"ops_per_sec"`
	Runs      int     `json:"runs"`
	MinNs     float64 `json:"min_ns_per_op"`
	MaxNs     float64 `json:"max_ns_per_op"`
	Threads   int     `json:"threads"`
	PeakRssKb int64   `json:"peak_rss_kb"`
	Version   string  `json:"version"`
}

// ---- pingpong ----------------------------------------------------------------

func pingpong(ops uint64) time.Duration {
	ping := make(chan struct{}, mailbox)
	pong := make(chan struct{}, mailbox)
	ready := make(chan struct{})
	end := make(chan time.Time, 1)
	go func() { // ponger
		ready <- struct{}{}
		for range ping {
			pong <- struct{}{}
		}
	}()
	go func() { // pinger
		ready <- struct{}{}
		left := ops
		for range pong {
			left--
			if left == 0 {
				end <- time.Now()
				return
			}
			ping <- struct{}{}
		}
	}()
	<-ready
	<-ready
	t0 := time.Now()
	ping <- struct{}{} // the host serves the first ping on the pinger's behalf
	t1 := <-end
	close(ping)
	return t1.Sub(t0)
}

// ---- counting ----------------------------------------------------------------

type cntMsg int

const (
	cntInc cntMsg = iota
	cntCredit
	cntFinish
)

func counting(ops uint64) time.Duration {
	counter := make(chan cntMsg, countChunk*chunksInFlight+chunksInFlight+1)
	more := make(chan struct{}, chunksInFlight+1)
	ready := make(chan struct{})
	end := make(chan time.Time, 1)
	var counted uint64
	go func() { // counter
		ready <- struct{}{}
		var n uint64
		for m := range counter {
			switch m {
			case cntInc:
				n++
			case cntCredit:
				more <- struct{}{}
			case cntFinish:
				counted = n
				end <- time.Now()
				return
			}
		}
	}()
	go func() { // producer
		ready <- struct{}{}
		var sent uint64
		for range more {
			if sent >= ops {
				continue
			}
			n := ops - sent
			if n > countChunk {
				n = countChunk
			}
			for i := uint64(0); i < n; i++ {
				counter <- cntInc
			}
			sent += n
			if sent == ops {
				counter <- cntFinish
				return
			}
			counter <- cntCredit
		}
	}()
	<-ready
	<-ready
	t0 := time.Now()
	for i := 0; i < chunksInFlight; i++ {
		more <- struct{}{}
	}
	t1 := <-end
	if counted != ops {
		fail("counting: counter saw %d of %d messages", counted, ops)
	}
	return t1.Sub(t0)
}

// ---- threadring --------------------------------------------------------------

func threadring(ops uint64) time.Duration {
	ring := make([]chan uint64, ringSize)
	for i := range ring {
		ring[i] = make(chan uint64, mailbox)
	}
	ready := make(chan struct{})
	end := make(chan time.Time, 1)
	stop := make(chan struct{})
	for i := 0; i < ringSize; i++ {
		in, next := ring[i], ring[(i+1)%ringSize]
		go func() {
			ready <- struct{}{}
			for {
				select {
				case left := <-in:
					if left == 0 {
						end <- time.Now()
						continue
					}
					next <- left - 1
				case <-stop:
					return
				}
			}
		}()
	}
	for i := 0; i < ringSize; i++ {
		<-ready
	}
	t0 := time.Now()
	ring[0] <- ops
	t1 := <-end
	close(stop)
	return t1.Sub(t0)
}

// ---- fjcreate ----------------------------------------------------------------

func fjcreate(ops uint64) time.Duration {
	done := make(chan struct{}, mailbox)
	goCh := make(chan struct{})
	ready := make(chan struct{})
	end := make(chan time.Time, 1)
	before := runtime.NumGoroutine()
	go func() { // forker
		ready <- struct{}{}
		<-goCh
		for i := uint64(0); i < ops; i++ {
			work := make(chan chan struct{}, 1) // the worker's mailbox
			go func() {
				reportTo := <-work
				reportTo <- struct{}{}
			}()
			work <- done
		}
		for i := uint64(0); i < ops; i++ {
			<-done
		}
		end <- time.Now()
	}()
	<-ready
	t0 := time.Now()
	goCh <- struct{}{}
	t1 := <-end
	// Every worker has reported; some may not have exited yet.
	for runtime.NumGoroutine() > before {
		runtime.Gosched()
		t1 = time.Now()
	}
	return t1.Sub(t0)
}

// ---- ask ---------------------------------------------------------------------

type askReq struct {
	v     uint64
	reply chan uint64
}

func ask(ops uint64) time.Duration {
	server := make(chan askReq, mailbox)
	goCh := make(chan struct{}, 1)
	ready := make(chan struct{})
	end := make(chan time.Time, 1)
	go func() { // server
		ready <- struct{}{}
		for r := range server {
			r.reply <- r.v + 1
		}
	}()
	go func() { // asker
		ready <- struct{}{}
		<-goCh
		reply := make(chan uint64, 1)
		for seq := uint64(0); seq < ops; seq++ {
			timeout := time.NewTimer(5 * time.Second)
			server <- askReq{seq, reply}
			select {
			case v := <-reply:
				timeout.Stop()
				if v != seq+1 {
					fail("ask: reply %d to %d", v, seq)
				}
			case <-timeout.C:
				fail("ask: timed out")
			}
		}
		end <- time.Now()
	}()
	<-ready
	<-ready
	t0 := time.Now()
	goCh <- struct{}{}
	t1 := <-end
	close(server)
	return t1.Sub(t0)
}

// ---- driver ------------------------------------------------------------------

type bench struct {
	name       string
	defaultOps uint64
	run        func(uint64) time.Duration
}

var benches = []bench{
	{"pingpong", 1000000, pingpong},
	{"counting", 1000000, counting},
	{"threadring", 1000000, threadring},
	{"fjcreate", 40000, fjcreate},
	{"ask", 1000000, ask},
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go_bench: "+format+"\n", args...)
	os.Exit(1)
}

func peakRssKb() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Maxrss
}

func median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func main() {
	list := flag.Bool("list", false, "list the benchmarks and exit")
	asJSON := flag.Bool("json", false, "one JSON object per benchmark per line")
	only := flag.String("bench", "", "benchmarks to run, comma-separated (default all)")
	runs := flag.Int("runs", 5, "runs per benchmark; the median is reported")
	opsFlag := flag.Uint64("ops", 0, "operations per run instead of each benchmark's default")
	threads := flag.Int("threads", 1, "GOMAXPROCS")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "go_bench: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if *runs < 1 || *runs > 1000 || *threads < 1 || *threads > 256 {
		fmt.Fprintln(os.Stderr, "go_bench: --runs wants 1-1000 and --threads 1-256")
		os.Exit(2)
	}
	if *list {
		for _, b := range benches {
			fmt.Printf("%-12s %9d ops\n", b.name, b.defaultOps)
		}
		return
	}
	selected := benches
	if *only != "" {
		selected = nil
		for _, name := range strings.Split(*only, ",") {
			found := false
			for _, b := range benches {
				if b.name == name {
					selected = append(selected, b)
					found = true
				}
			}
			if !found {
				fmt.Fprintf(os.Stderr, "go_bench: unknown benchmark %q (see --list)\n", name)
				os.Exit(2)
			}
		}
	}
	runtime.GOMAXPROCS(*threads)
	for _, b := range selected {
		ops := b.defaultOps
		if *opsFlag > 0 {
			ops = *opsFlag
		}
		ns := make([]float64, *runs)
		for r := 0; r < *runs; r++ {
			runtime.GC()
			ns[r] = float64(b.run(ops).Nanoseconds()) / float64(ops)
		}
		med := median(ns)
		res := result{Bench: b.name, Framework: "go", Ops: ops, NsPerOp: med,
			OpsPerSec: 1e9 / med, Runs: *runs, MinNs: ns[0], MaxNs: ns[len(ns)-1],
			Threads: *threads, PeakRssKb: peakRssKb(), Version: runtime.Version()}
		if *asJSON {
			line, _ := json.Marshal(res)
			fmt.Println(string(line))
		} else {
			fmt.Printf("%-12s %9d ops %11.2f ns/op (min %.2f, max %.2f)\n", b.name, ops, med,
				res.MinNs, res.MaxNs)
		}
	}
}
