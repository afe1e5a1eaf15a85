@testable import AccordConnectors
import Foundation
import Testing

/// Signature Version 4 against AWS's published examples (the S3 API
/// reference, "Signature Calculations for the Authorization Header"),
/// where the signature is the whole proof: a wrong byte anywhere in the
/// canonical request changes it.
@Suite struct SigV4Tests {
    static let signer = SigV4(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
    static let date = Date(timeIntervalSince1970: 1_369_353_600) // 2013-05-24T00:00:00Z

    static func authorization(_ request: SigV4.Request) -> String {
        signer.sign(request, at: date).first { $0.0 == "Authorization" }!.1
    }

    @Test func getObjectWithARange() {
        let auth = Self.authorization(.init(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt",
                                            headers: [("Range", "bytes=0-9")]))
        #expect(auth == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func listObjectsWithAQuery() {
        let auth = Self.authorization(.init(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/",
                                            query: [("max-keys", "2"), ("prefix", "J")]))
        #expect(auth == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func theDateAndThePayloadHashAreSentToo() {
        let headers = Dictionary(uniqueKeysWithValues: Self.signer.sign(.init(method: "GET", host: "h", path: "/"), at: Self.date))
        #expect(headers["x-amz-date"] == "20130524T000000Z")
        #expect(headers["x-amz-content-sha256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func queriesAreSortedAndEncoded() {
        #expect(SigV4.canonicalQuery([("prefix", "a b/c"), ("list-type", "2"), ("delete", "")]) == "delete=&list-type=2&prefix=a%20b%2Fc")
    }
}
