module dagger/infra

go 1.25

require (
	github.com/infrapipe/infrapipe v0.0.0
	golang.org/x/sync v0.17.0
)

replace github.com/infrapipe/infrapipe => ../
