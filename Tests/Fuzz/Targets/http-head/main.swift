import FuzzSupport

runLibFuzzer(fuzzHTTPHead)
