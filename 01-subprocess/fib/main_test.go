package main

import (
	"testing"

	"goinparallel/fib/doctest"
)

var program = doctest.Program{Name: "fib", Main: main, Dir: "01-subprocess/fib"}

func TestMain(m *testing.M)    { doctest.Main(m, program) }
func TestScripts(t *testing.T) { doctest.Run(t, program) }
