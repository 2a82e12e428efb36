import XCTest
final class PlaceholderModelsTests: XCTestCase { func testBuilds() {} }
