extension InteractionLog {
    /// A copy whose id maps hold only the users and items that occur in its rows, re-numbered
    /// densely. Surviving ids keep their relative order (so first-appearance order is kept).
    public func compacted() -> InteractionLog {
        var userNew = [Int32](repeating: -1, count: userCount)
        var itemNew = [Int32](repeating: -1, count: itemCount)
        for u in users { userNew[Int(u)] = 0 }
        for i in items { itemNew[Int(i)] = 0 }
        var out = InteractionLog()
        out.hasTimestamps = hasTimestamps; out.hasRatings = hasRatings
        for u in 0..<userCount where userNew[u] == 0 { userNew[u] = out.userIDs.intern(userIDs.id(of: Int32(u))) }
        for i in 0..<itemCount where itemNew[i] == 0 { itemNew[i] = out.itemIDs.intern(itemIDs.id(of: Int32(i))) }
        out.users = users.map { userNew[Int($0)] }
        out.items = items.map { itemNew[Int($0)] }
        out.timestamps = timestamps
        out.ratings = ratings
        return out
    }

    /// Number of distinct users that have at least one row.
    public var activeUserCount: Int {
        var seen = [Bool](repeating: false, count: userCount)
        var n = 0
        for u in users where !seen[Int(u)] { seen[Int(u)] = true; n += 1 }
        return n
    }

    /// Number of distinct items that have at least one row.
    public var activeItemCount: Int {
        var seen = [Bool](repeating: false, count: itemCount)
        var n = 0
        for i in items where !seen[Int(i)] { seen[Int(i)] = true; n += 1 }
        return n
    }
}
