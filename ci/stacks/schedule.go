package stacks

import (
	"fmt"
	"slices"
	"sync"
)

// Schedule runs run once for each stack of list, at most maxParallel at a time, each after
// the stacks of list it depends on. run says whether its stack stopped (blocked); a stack
// is handed the dependencies that stopped as held, and a held stack counts as stopped, so
// nothing is applied on top of a blocked dependency, however deep, while stacks
// independent of it go on. list is in dependency order (a Selection's); a dependency that
// comes later is an error, since waiting for it could never end. Dependencies outside
// list are not waited for.
func Schedule(list []Selected, maxParallel int, run func(i int, held []string) (stopped bool)) error {
	if maxParallel < 1 {
		return fmt.Errorf("--max-parallel is %d: give at least 1", maxParallel)
	}
	index := map[string]int{}
	for i, s := range list {
		index[s.Dir] = i
	}
	for i, s := range list {
		for _, d := range s.DependsOn {
			if j, ok := index[d]; ok && j >= i {
				return fmt.Errorf("stack %s depends on %s, which does not come before it", s.Dir, d)
			}
		}
	}
	done := make([]chan struct{}, len(list))
	stopped := make([]bool, len(list)) // each written by its own goroutine before done closes
	for i := range done {
		done[i] = make(chan struct{})
	}
	slots := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i, s := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			var held []string
			for _, d := range s.DependsOn {
				if j, ok := index[d]; ok {
					<-done[j]
					if stopped[j] && !slices.Contains(held, d) {
						held = append(held, d)
					}
				}
			}
			slots <- struct{}{}
			defer func() { <-slots }()
			stopped[i] = run(i, held) || len(held) > 0
		}()
	}
	wg.Wait()
	return nil
}
