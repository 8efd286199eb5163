import FuzzSupport

runLibFuzzer(fuzzEventsWireFormat)
