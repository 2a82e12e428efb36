import XCTest
final class PlaceholderTensorTests: XCTestCase { func testBuilds() {} }
