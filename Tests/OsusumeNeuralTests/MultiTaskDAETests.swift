import XCTest
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels
import OsusumeNeural

final class MultiTaskDAETests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    /// RMSE on the held-out rated targets of a user-mean (shrunk) + item-bias baseline fitted on `log`.
    func biasBaselineRMSE(_ data: AutoencoderPlantedData) -> Double {
        let log = data.log
        var userSum = [Double](repeating: 0, count: log.userCount), userN = [Double](repeating: 0, count: log.userCount)
        var global = 0.0
        for i in 0..<log.count { global += Double(log.ratings[i]); userSum[Int(log.users[i])] += Double(log.ratings[i]); userN[Int(log.users[i])] += 1 }
        global /= Double(log.count)
        func userMean(_ u: Int) -> Double { (userSum[u] + 5 * global) / (userN[u] + 5) }
        var dev = [Double](repeating: 0, count: log.itemCount), devN = [Double](repeating: 0, count: log.itemCount)
        for i in 0..<log.count { dev[Int(log.items[i])] += Double(log.ratings[i]) - userMean(Int(log.users[i])); devN[Int(log.items[i])] += 1 }
        var se = 0.0
        for c in data.cases {
            let t = Int(c.targets[0])
            let p = userMean(Int(c.user)) + dev[t] / (devN[t] + 5)
            se += pow(p - Double(c.targetRatings![0]), 2)
        }
        return (se / Double(data.cases.count)).squareRoot()
    }

    func testRatingHeadBeatsBiasBaselineAndRankingBeatsPopularity() throws {
        let data = AutoencoderPlantedData(users: 600, ratings: true, seed: 3)
        var c = MultiTaskDAE.Config()
        c.hiddenDims = [96, 24]; c.epochs = 60; c.batchSize = 64; c.learningRate = 0.003
        let model = MultiTaskDAE(config: c)
        try model.fit(TrainingData(log: data.log, seed: 11))
        XCTAssertTrue(model.trainedWithRatings)

        let queries = data.cases.map { ScoringQuery(user: $0.user, history: $0.history, ratings: $0.historyRatings) }
        let predictions = model.predictRatings(queries)
        var se = 0.0
        for (c, p) in zip(data.cases, predictions) { se += pow(Double(p[Int(c.targets[0])] - c.targetRatings![0]), 2) }
        let rmse = (se / Double(data.cases.count)).squareRoot()
        let baseline = biasBaselineRMSE(data)
        print("planted ratings: rating head RMSE \(rmse), user-mean + item-bias RMSE \(baseline), task weights \(model.taskWeights!)")
        XCTAssertLessThan(rmse, baseline * 0.9, "rating head \(rmse) vs bias baseline \(baseline)")
        // The library's evaluator and baseline agree with the hand computation above.
        let report = try XCTUnwrap(RatingEvaluator.evaluate(model, trainingLog: data.log, cases: data.cases))
        XCTAssertEqual(report.ratedTargets, data.cases.count)
        XCTAssertEqual(report.baselineRMSE, baseline, accuracy: 1e-3)
        XCTAssertEqual(report.rmse, rmse, accuracy: 1e-3)
        XCTAssertEqual(model.ratingGain, 1, "no validation cases: the head's correction is kept whole")

        var o = EvaluationOptions(); o.showProgress = false
        let evaluator = RankingEvaluator(trainingLog: data.log, options: o)
        let pop = Popularity(config: .init()); try pop.fit(TrainingData(log: data.log))
        let popNDCG = try evaluator.evaluate(pop, cases: data.cases).metrics["NDCG@10"]!
        let ndcg = try evaluator.evaluate(model, cases: data.cases).metrics["NDCG@10"]!
        XCTAssertGreaterThan(ndcg, popNDCG + 0.1, "multitaskdae NDCG@10 \(ndcg) vs popularity \(popNDCG)")

        // Save / load: identical scores and predicted ratings.
        let copy = MultiTaskDAE(config: c)
        try copy.restore(try model.state())
        XCTAssertEqual(copy.score(queries[0]), model.score(queries[0]))
        XCTAssertEqual(copy.predictRatings([queries[1]]), model.predictRatings([queries[1]]))
    }

    func testRatingGainIsFittedOnValidationRatings() throws {
        let data = AutoencoderPlantedData(users: 400, ratings: true, seed: 4)
        var c = MultiTaskDAE.Config()
        c.hiddenDims = [64, 16]; c.epochs = 30; c.batchSize = 64; c.learningRate = 0.003
        // A 16-wide code learns the planted ratings within 30 epochs under milder noise than the
        // default (sized for 200-wide codes on real data).
        c.bottleneckNoise = 0.5
        let model = MultiTaskDAE(config: c)
        let validation = Array(data.cases.prefix(200)), test = Array(data.cases.suffix(200))
        try model.fit(TrainingData(log: data.log, validation: validation, seed: 2))
        XCTAssertTrue((0...1).contains(model.ratingGain))
        XCTAssertGreaterThan(model.ratingGain, 0.3, "planted ratings: the head carries signal")
        let report = try XCTUnwrap(RatingEvaluator.evaluate(model, trainingLog: data.log, cases: test))
        XCTAssertLessThan(report.rmse, report.baselineRMSE * 0.9, "\(report)")
        // The gain survives save / load.
        let copy = MultiTaskDAE(config: c)
        try copy.restore(try model.state())
        XCTAssertEqual(copy.ratingGain, model.ratingGain)
    }

    func testHoldOutExplanationsPointAtTheSupportingCluster() throws {
        // No ratings: the presence head alone. A history of two cluster-0 items plus a popular item;
        // for a cluster-0 recommendation the cluster items should matter more than the popular one.
        let data = AutoencoderPlantedData(users: 400, seed: 5)
        var c = MultiTaskDAE.Config()
        c.hiddenDims = [64, 16]; c.epochs = 40; c.batchSize = 64; c.learningRate = 0.003
        let model = MultiTaskDAE(config: c)
        try model.fit(TrainingData(log: data.log, seed: 2))
        XCTAssertFalse(model.trainedWithRatings)
        let id = { (s: String) in data.log.itemIDs.index(of: s)! }
        let query = ScoringQuery(history: [id("i0"), id("i1"), id("i2"), id("i200")])
        let contributions = model.contributions(of: id("i3"), for: query)
        XCTAssertEqual(contributions.count, 4)
        let clusterMean = (contributions[0] + contributions[1] + contributions[2]) / 3
        XCTAssertGreaterThan(clusterMean, contributions[3], "contributions \(contributions)")
        XCTAssertGreaterThan(clusterMean, 0)
    }
}
