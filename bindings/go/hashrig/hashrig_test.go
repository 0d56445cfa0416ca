package hashrig

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// genesis is the genesis block's header.
func genesis() [80]byte {
	raw, _ := hex.DecodeString("0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c")
	var header [80]byte
	copy(header[:], raw)
	return header
}

// The genesis block: mined again on the CPU over a window around its nonce.
func TestMinesTheGenesisBlock(t *testing.T) {
	header := genesis()
	e, err := NewEngine(CPUOn, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	job, err := e.SubmitHeader(header, nil, 2083236893-500000, 1000000)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.PollSolution(60 * time.Second)
	if err != nil || s == nil {
		t.Fatalf("no solution: %v", err)
	}
	if s.Job != job || s.Nonce != 2083236893 {
		t.Fatalf("job %d nonce %d", s.Job, s.Nonce)
	}
	if got := hex.EncodeToString(s.Hash[:]); got != "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f" {
		t.Fatalf("hash %s", got)
	}
	end, err := e.PollSolution(60 * time.Second)
	if err != nil || end == nil || !end.Exhausted || end.Job != job {
		t.Fatalf("no end of job %d: %+v %v", job, end, err)
	}
	d, err := e.Devices()
	if err != nil || len(d) == 0 || d[0].Hashes == 0 {
		t.Fatalf("devices %v %v", d, err)
	}
	if _, err := e.SubmitHeader(header, nil, 1<<32, 1); err == nil {
		t.Fatal("a range past the nonce space was accepted")
	}
}

// The pools named by HASHRIG_TEST_POOL (Stratum v1) and
// HASHRIG_TEST_POOL_V2 (Stratum V2; the Rust test that runs this starts
// both on loopback): shares are accepted and the statistics read, the URL
// taken as it is.
func TestMinesOnAPool(t *testing.T) {
	for _, name := range []string{"HASHRIG_TEST_POOL", "HASHRIG_TEST_POOL_V2"} {
		t.Run(name, func(t *testing.T) {
			url := os.Getenv(name)
			if url == "" {
				t.Skip(name + " is not set")
			}
			minesOn(t, url, "go-worker", "x")
		})
	}
}

// Solo on the node named by HASHRIG_TEST_NODE (its RPC URL), paying
// HASHRIG_TEST_NODE_ADDRESS, logged in with HASHRIG_TEST_NODE_AUTH
// ("cookie:PATH"): blocks are the shares.
func TestMinesSoloOnANode(t *testing.T) {
	url := os.Getenv("HASHRIG_TEST_NODE")
	if url == "" {
		t.Skip("HASHRIG_TEST_NODE is not set")
	}
	minesOn(t, url, os.Getenv("HASHRIG_TEST_NODE_ADDRESS"), os.Getenv("HASHRIG_TEST_NODE_AUTH"))
}

func minesOn(t *testing.T, url, user, pass string) {
	if _, err := StartPool(CPUOn, false, "nonsense", "u", "x"); err == nil {
		t.Fatal("a bad URL was accepted")
	}
	m, err := StartPool(CPUOn, false, url, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	deadline := time.Now().Add(120 * time.Second)
	var s PoolStats
	for time.Now().Before(deadline) {
		if s, err = m.Stats(); err != nil {
			t.Fatal(err)
		}
		if s.Accepted >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.Accepted < 2 || s.Rejected != 0 || s.URL != url {
		t.Fatalf("pool stats %+v", s)
	}
	d, err := m.Devices()
	if err != nil || len(d) == 0 || d[0].Hashes == 0 {
		t.Fatalf("devices %v %v", d, err)
	}
}

// A failover list: a Stratum v1 pool that is down, then the Stratum V2
// pool named by HASHRIG_TEST_POOL_V2. The miner must reach the second, and
// each entry's statistics are read by its place in the list.
func TestFailsOverAlongAList(t *testing.T) {
	v2 := os.Getenv("HASHRIG_TEST_POOL_V2")
	if v2 == "" {
		t.Skip("HASHRIG_TEST_POOL_V2 is not set")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "stratum+tcp://" + l.Addr().String()
	l.Close()
	if _, err := StartPools(Options{CPU: CPUOn, NoGPUs: true}, nil); err == nil {
		t.Fatal("an empty list was accepted")
	}
	list := []Upstream{{URL: down, User: "go-worker", Pass: "x"}, {URL: v2, User: "go-worker", Pass: "x"}}
	m, err := StartPools(Options{CPU: CPUOn, NoGPUs: true, CPUThreads: 1}, list)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if n, err := m.Pools(); err != nil || n != 2 {
		t.Fatalf("%d pools, %v", n, err)
	}
	deadline := time.Now().Add(120 * time.Second)
	var s PoolStats
	for time.Now().Before(deadline) {
		if s, err = m.StatsOf(1); err != nil {
			t.Fatal(err)
		}
		if s.Accepted >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.Accepted < 2 || s.URL != v2 {
		t.Fatalf("the second pool: %+v", s)
	}
	first, err := m.StatsOf(0)
	if err != nil || first.URL != down || first.Accepted != 0 {
		t.Fatalf("the first pool: %+v %v", first, err)
	}
	if _, err := m.StatsOf(2); err == nil {
		t.Fatal("a third pool")
	}
}

// Failed calls from many goroutines at once, without LockOSThread: each
// error carries its own call's message, never another's or an empty one.
func TestErrorsBelongToTheirCalls(t *testing.T) {
	e, err := NewEngineWith(Options{CPU: CPUOn, NoGPUs: true, CPUThreads: 1, CPUKernel: "soft"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	header := genesis()
	var zero [32]byte
	var wg sync.WaitGroup
	failures := make(chan string, 64)
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				var err error
				var want string
				if (g+i)%2 == 0 {
					_, err = e.SubmitHeader(header, &zero, 0, 1)
					want = "zero"
				} else {
					_, err = e.SubmitHeader(header, nil, 1<<32, 1)
					want = "4294967296"
				}
				if err == nil || !strings.Contains(err.Error(), want) {
					failures <- fmt.Sprintf("goroutine %d call %d: want %q, got %v", g, i, want, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
}

// Options reach the engine: a bad kernel name is refused with its own
// message, and two CPU threads on the portable kernel find the genesis
// nonce.
func TestOptions(t *testing.T) {
	if _, err := NewEngineWith(Options{CPU: CPUOn, NoGPUs: true, CPUKernel: "avx9000"}); err == nil ||
		!strings.Contains(err.Error(), "cpu_kernel") {
		t.Fatalf("avx9000: %v", err)
	}
	if _, err := NewEngineWith(Options{CPUThreads: -1}); err == nil {
		t.Fatal("-1 threads accepted")
	}
	e, err := NewEngineWith(Options{CPU: CPUOn, NoGPUs: true, CPUThreads: 2, CPUKernel: "scalar",
		BatchTime: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	header := genesis()
	if _, err := e.SubmitHeader(header, nil, 2083236893-1000, 2000); err != nil {
		t.Fatal(err)
	}
	s, err := e.PollSolution(60 * time.Second)
	if err != nil || s == nil || s.Nonce != 2083236893 {
		t.Fatalf("solution %+v %v", s, err)
	}
}
