/// A two-way map between external ids (strings as they appear in files) and dense indices
/// 0..<count, assigned in order of first appearance.
public struct IDMap: Sendable, Equatable {
    public private(set) var ids: [String] = []
    private var index: [String: Int32] = [:]

    public init() {}
    public init(_ ids: [String]) { for id in ids { _ = intern(id) } }

    public var count: Int { ids.count }

    /// The dense index of `id`, adding it if new.
    public mutating func intern(_ id: String) -> Int32 {
        if let i = index[id] { return i }
        let i = Int32(ids.count)
        ids.append(id); index[id] = i
        return i
    }

    public func index(of id: String) -> Int32? { index[id] }
    public func id(of index: Int32) -> String { ids[Int(index)] }
    public func contains(_ id: String) -> Bool { index[id] != nil }
}
