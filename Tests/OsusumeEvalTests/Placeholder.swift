import XCTest
final class PlaceholderEvalTests: XCTestCase { func testBuilds() {} }
