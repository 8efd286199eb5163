import FuzzSupport

runLibFuzzer(fuzzClientHandshake)
