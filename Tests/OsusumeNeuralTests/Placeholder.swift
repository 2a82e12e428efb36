import XCTest
final class PlaceholderNeuralTests: XCTestCase { func testBuilds() {} }
