import Foundation

enum Console {
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func error(_ error: any Error) {
        FileHandle.standardError.write(Data("accordctl: error: \(error)\n".utf8))
    }
}
