// Command twofold runs the twofold account service and its operator commands.
package main

import (
	"context"
	"os"

	"github.com/twofold/twofold/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
