// The parsing floor for hack/bench: reads `git cat-file --batch` output on
// standard input and runs libyaml's event parser over every blob, doing
// nothing with the events. What Accord's own parsing is compared against.
import CYaml
import Foundation

let input = FileHandle.standardInput.readDataToEndOfFile()
let bytes = [UInt8](input)
var i = 0
var blobs = 0
var events = 0
var failures = 0

while i < bytes.count {
    guard let newline = bytes[i...].firstIndex(of: 0x0A) else { break }
    let header = String(decoding: bytes[i..<newline], as: UTF8.self).split(separator: " ")
    guard header.count == 3, let size = Int(header[2]) else { break }
    let start = newline + 1
    let end = start + size
    blobs += 1
    bytes.withUnsafeBufferPointer { buffer in
        var parser = yaml_parser_t()
        yaml_parser_initialize(&parser)
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, buffer.baseAddress! + start, size)
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else { failures += 1; return }
            let done = event.type == YAML_STREAM_END_EVENT
            events += 1
            yaml_event_delete(&event)
            if done { return }
        }
    }
    i = end + 1
}
FileHandle.standardError.write(Data("accord-bench-floor: \(blobs) blobs, \(events) events, \(failures) failures\n".utf8))
exit(failures == 0 ? 0 : 1)
