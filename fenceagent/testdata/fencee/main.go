// Command fencee is the process of the container that the fence_docker
// test fences: it prints the fence id zkfence would record for itself in
// this container (fenceagent.SelfID), then waits to be killed.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/zkfence/zkfence/fenceagent"
)

func main() {
	id, source, err := fenceagent.SelfID()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fencee:", err)
		os.Exit(1)
	}
	fmt.Printf("fence-id %s %s\n", id, source)
	for {
		time.Sleep(time.Hour)
	}
}
