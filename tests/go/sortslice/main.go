// Command sortslice prints the order in which the running Go toolchain's sort.Slice leaves
// its input, to record test vectors for harborguard/retention/gosort.py.
//
// Each input line is "desc" or "asc" followed by integer keys. For each line it prints the
// input positions in sorted order. Run it with the toolchain under test, from the
// repository root (file mode, so no go.mod is needed):
//
//	go run tests/go/sortslice/main.go < cases.txt
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

type cand struct {
	key int64
	pos int
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		fields := strings.Fields(in.Text())
		if len(fields) == 0 {
			continue
		}
		cs := make([]cand, 0, len(fields)-1)
		for i, f := range fields[1:] {
			k, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			cs = append(cs, cand{k, i})
		}
		switch fields[0] {
		case "desc":
			// The form Harbor's count rules use.
			sort.Slice(cs, func(i, j int) bool { return cs[i].key > cs[j].key })
		case "asc":
			sort.Slice(cs, func(i, j int) bool { return cs[i].key < cs[j].key })
		default:
			fmt.Fprintln(os.Stderr, "mode must be desc or asc")
			os.Exit(2)
		}
		parts := make([]string, len(cs))
		for i, c := range cs {
			parts[i] = strconv.Itoa(c.pos)
		}
		fmt.Fprintln(out, strings.Join(parts, " "))
	}
}
