import OsusumeCore

/// A sparse items × items matrix by rows (CSR): ItemKNN's neighbour lists and LocalEASE's B are
/// kept, saved and read back as one.
struct SparseItemRows: Sendable {
    var rowPointers: [Int]
    var columns: [Int32]
    var values: [Float]

    var itemCount: Int { rowPointers.count - 1 }

    /// The tensor names a model's files use for the three arrays.
    struct Names {
        var rowPointers: String, columns: String, values: String
    }

    func write(into st: inout SafeTensors, names: Names) {
        st.set(names.rowPointers, int64s: rowPointers.map(Int64.init), shape: [rowPointers.count])
        st.set(names.columns, int32s: columns, shape: [columns.count])
        st.set(names.values, floats: values, shape: [values.count])
    }

    /// Reads and checks the arrays: pointers from 0, never decreasing, ending at the entry count,
    /// and every column an item; a file that breaks any of these is refused, never read past.
    static func read(from st: SafeTensors, names: Names, kind: String) throws -> SparseItemRows {
        let ptr = try st.int64s(names.rowPointers).values
        let cols = try st.int32s(names.columns).values
        let vals = try st.floats(names.values).values
        let n = ptr.count - 1
        guard n >= 1, ptr.first == 0, ptr.last == Int64(cols.count), cols.count == vals.count,
            zip(ptr, ptr.dropFirst()).allSatisfy({ $0 <= $1 }), cols.allSatisfy({ $0 >= 0 && Int($0) < n })
        else {
            throw OsusumeError.modelFile("\(kind): \(names.rowPointers), \(names.columns) and \(names.values) do not describe a sparse matrix over \(max(n, 0)) items")
        }
        return SparseItemRows(rowPointers: ptr.map(Int.init), columns: cols, values: vals)
    }
}
